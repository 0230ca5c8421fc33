-- One row per trajectory (cleaned stop record) with its outcome and whether an end questionnaire came back.
-- group: models
-- grain: aanbieder_agb, toewijzingnummer, begindatum
-- incremental by key: aanbieder_agb, toewijzingnummer
-- has_end_response: a cleaned EINDE questionnaire of the same provider and toewijzingnummer completed at
-- most response_window_days (codebook) before or after einddatum. The outcome (CBS category, counts as an
-- end of care, uitval) comes from cleaned_stop_zorg, i.e. from ref.reden_beeindiging; delivery_id is the
-- delivery of the stop record that decides (for tracing a figure to its deliveries).
with end_responses as (
    select aanbieder_agb, toewijzingnummer, invuldatum
    from intermediate.cleaned_responses
    where care_type = 'EINDE'
),

trajectories_with_end_response as (
    select distinct s.aanbieder_agb, s.toewijzingnummer, s.begindatum
    from intermediate.cleaned_stop_zorg as s
    inner join end_responses as r
        on r.aanbieder_agb = s.aanbieder_agb
        and r.toewijzingnummer = s.toewijzingnummer
        and abs(date_diff('day', s.einddatum, r.invuldatum)) <= rmj_param('response_window_days')
)

select
    s.delivery_id,
    s.aanbieder_agb,
    s.toewijzingnummer,
    s.begindatum,
    s.gemeentecode,
    s.subregio,
    s.einddatum,
    s.cbs_categorie,
    s.counts_as_end,
    s.is_uitval,
    e.aanbieder_agb is not null as has_end_response
from intermediate.cleaned_stop_zorg as s
left join trajectories_with_end_response as e
    on e.aanbieder_agb = s.aanbieder_agb
    and e.toewijzingnummer = s.toewijzingnummer
    and e.begindatum = s.begindatum
