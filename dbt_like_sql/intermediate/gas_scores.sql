-- One GAS T-score per goal measurement (Kiresuk & Sherman, 1968), with goal attainment and problem decrease.
-- group: models
-- grain: aanbieder_agb, pseudoniem?, toewijzingnummer, meetdatum
-- incremental by key: aanbieder_agb, toewijzingnummer
-- T = 50 + 10 * sum(w*x) / sqrt((1 - rho) * sum(w^2) + rho * (sum w)^2) over the goals of a measurement
-- (score x -2..+2, weight w), rho = gas_rho from the codebook; e.g. two goals of weight 1 scoring +1 and 0
-- give 56.20. goal_attained: T at or above gas_t_success; problem_decreased: probleemafname equals
-- probleemafname_success (NULL when the measurement has no score). A measurement is (provider, pseudonym,
-- toewijzingnummer, meetdatum) as in cleaned_goals, whose rows come from one delivery: grouping by that
-- delivery as well keeps measurements of unknown BSNs (no pseudonym) from different deliveries apart.
-- Municipality and trajecttype are those of the goal with the lowest doel_nr.
with measurement_sums as (
    select
        aanbieder_agb,
        pseudoniem,
        toewijzingnummer,
        meetdatum,
        delivery_id,
        arg_min(gemeentecode, doel_nr) as gemeentecode,
        arg_min(subregio, doel_nr) as subregio,
        arg_min(trajecttype, doel_nr) as trajecttype,
        count(*) as n_goals,
        sum(gewicht * gas_score) as weighted_score,
        sum(gewicht * gewicht) as sum_squared_weights,
        sum(gewicht) as sum_weights,
        max(probleemafname) as probleemafname
    from intermediate.cleaned_goals
    group by aanbieder_agb, pseudoniem, toewijzingnummer, meetdatum, delivery_id
),

measurement_t_scores as (
    select
        *,
        50 + 10 * weighted_score / sqrt(
            (1 - rmj_param('gas_rho')) * sum_squared_weights + rmj_param('gas_rho') * sum_weights * sum_weights
        ) as gas_t
    from measurement_sums
)

select
    delivery_id,
    aanbieder_agb,
    pseudoniem,
    toewijzingnummer,
    gemeentecode,
    subregio,
    trajecttype,
    meetdatum,
    n_goals,
    gas_t,
    gas_t >= rmj_param('gas_t_success') as goal_attained,
    probleemafname,
    probleemafname = rmj_param('probleemafname_success') as problem_decreased
from measurement_t_scores
