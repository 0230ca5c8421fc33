-- Long-term trajectories with a CEM+ response in the half-year that the CBS extract could not list, and why.
-- partition: half_year
-- group: cbs
-- grain: period, aanbieder_agb, toewijzingnummer
-- One row per trajectory (provider + toewijzingnummer) with a DUURZAAM questionnaire in the period that
-- has no row in the period's cbs_outcome_extract (read from the extract itself, so the two never disagree
-- on what is listed), with its reason, the first that holds:
--   ended_without_cbs_category  a stop record ended it in the period, with a reason that is no end of care
--                               for CBS (JZ588 20, 36, 37, 38);
--   ended_before_period         a stop record ended it before the period began and no later start record
--                               says it runs again (a yearly questionnaire after the end);
--   begindatum_unknown          neither a JW305 start record nor a stop record gives a begin date on or
--                               before the period end.
-- Counted in the run metadata of the CBS files.
with long_term as (
    select distinct aanbieder_agb, toewijzingnummer
    from intermediate.cleaned_responses
    where care_type = 'DUURZAAM' and invuldatum between $period_start and $period_end
),

listed as (
    select aanbieder_agb, toewijzingnummer
    from marts.cbs_outcome_extract
    where period = $period
),

stop_records as (
    select
        aanbieder_agb,
        toewijzingnummer,
        bool_or(einddatum between $period_start and $period_end and cbs_categorie is null) as ended_not_counting,
        bool_or(einddatum < $period_start) as ended_before
    from intermediate.cleaned_stop_zorg
    group by aanbieder_agb, toewijzingnummer
)

select
    -- a parameter, not a column
    $period as period,  -- noqa: RF02
    l.aanbieder_agb,
    l.toewijzingnummer::varchar as toewijzingnummer,
    case
        when coalesce(s.ended_not_counting, false) then 'ended_without_cbs_category'
        when coalesce(s.ended_before, false) then 'ended_before_period'
        else 'begindatum_unknown'
    end as reason
from long_term as l
left join stop_records as s on s.aanbieder_agb = l.aanbieder_agb and s.toewijzingnummer = l.toewijzingnummer
where not exists (
    select 1
    from listed
    where listed.aanbieder_agb = l.aanbieder_agb and listed.toewijzingnummer = l.toewijzingnummer::varchar
)
