-- Long-term trajectories with a CEM+ response in the half-year that the CBS extract could not list, and why.
-- partition: half_year
-- group: cbs
-- A running trajectory can only be listed with its begin date, known from a stop record (or a JW305
-- start message, not yet read). Counted in the extract's run metadata.
with long_term as (
    select distinct aanbieder_agb, toewijzingnummer
    from intermediate.cleaned_responses
    where care_type = 'DUURZAAM' and invuldatum between $period_start and $period_end
),

ended_in_period as (
    select distinct aanbieder_agb, toewijzingnummer
    from intermediate.cleaned_stop_zorg
    where einddatum between $period_start and $period_end and cbs_categorie is not null
),

known_begin as (
    select distinct aanbieder_agb, toewijzingnummer
    from intermediate.cleaned_stop_zorg
    where begindatum <= $period_end and einddatum > $period_end
)

select $period as period, l.aanbieder_agb, l.toewijzingnummer, 'begindatum_unknown' as reason
from long_term as l
anti join ended_in_period as e on e.aanbieder_agb = l.aanbieder_agb and e.toewijzingnummer = l.toewijzingnummer
anti join known_begin as k on k.aanbieder_agb = l.aanbieder_agb and k.toewijzingnummer = l.toewijzingnummer
