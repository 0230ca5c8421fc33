-- One GAS T-score per measurement (Kiresuk & Sherman, 1968), with goal attainment and problem decrease.
-- group: outcomes
-- T = 50 + 10 * sum(w*x) / sqrt((1 - rho) * sum(w^2) + rho * (sum w)^2), rho from the codebook.
select
    aanbieder_agb,
    pseudoniem,
    toewijzingnummer,
    meetdatum,
    any_value(gemeentecode) as gemeentecode,
    any_value(subregio) as subregio,
    any_value(trajecttype) as trajecttype,
    count(*) as n_goals,
    50 + 10 * sum(gewicht * gas_score)
        / sqrt((1 - rmj_param('gas_rho')) * sum(gewicht * gewicht) + rmj_param('gas_rho') * sum(gewicht) ^ 2) as gas_t,
    50 + 10 * sum(gewicht * gas_score)
        / sqrt((1 - rmj_param('gas_rho')) * sum(gewicht * gewicht) + rmj_param('gas_rho') * sum(gewicht) ^ 2)
        >= rmj_param('gas_t_success') as goal_attained,
    max(probleemafname) as probleemafname,
    max(probleemafname) = rmj_param('probleemafname_success') as problem_decreased
from intermediate.cleaned_goals
group by aanbieder_agb, pseudoniem, toewijzingnummer, meetdatum
