-- Long-term trajectories with a CEM+ response in the half-year that the CBS extract could not list, and why.
-- partition: half_year
-- group: cbs
-- grain: period, aanbieder_agb, toewijzingnummer
-- One row per trajectory (provider + toewijzingnummer) with a DUURZAAM questionnaire in the period that
-- has no row in cbs_outcome_extract, with its reason:
--   ended_without_cbs_category  it ended in the period, but with a reason that is no end of care for CBS
--                               (JZ588 20, 36, 37, 38): neither ended with a category nor still running;
--   begindatum_unknown          no stop record gives its begin date: a running trajectory can only be
--                               listed with the begin date of a stop record (JW305 start messages are
--                               not read), and no stop record ended it in the period either.
-- Counted in the run metadata of the CBS files. Same listing rules as cbs_outcome_extract.
with long_term as (
    select distinct aanbieder_agb, toewijzingnummer
    from intermediate.cleaned_responses
    where care_type = 'DUURZAAM' and invuldatum between $period_start and $period_end
),

stop_records as (
    select
        aanbieder_agb,
        toewijzingnummer,
        bool_or(einddatum between $period_start and $period_end and cbs_categorie is not null) as ended_counting,
        bool_or(begindatum <= $period_end and (einddatum is null or einddatum > $period_end)) as running,
        bool_or(einddatum between $period_start and $period_end and cbs_categorie is null) as ended_not_counting
    from intermediate.cleaned_stop_zorg
    group by aanbieder_agb, toewijzingnummer
)

select
    $period as period,
    l.aanbieder_agb,
    l.toewijzingnummer::varchar as toewijzingnummer,
    case when coalesce(s.ended_not_counting, false) then 'ended_without_cbs_category' else 'begindatum_unknown' end
        as reason
from long_term as l
left join stop_records as s on s.aanbieder_agb = l.aanbieder_agb and s.toewijzingnummer = l.toewijzingnummer
where not coalesce(s.ended_counting or s.running, false)
