-- One row per trajectory (cleaned stop record) with its outcome and whether an end questionnaire came back.
-- group: outcomes
-- An EINDE questionnaire of the same provider and toewijzingnummer counts when completed within
-- response_window_days (codebook) before or after einddatum.
with end_responses as (
    select aanbieder_agb, toewijzingnummer, invuldatum
    from intermediate.cleaned_responses
    where care_type = 'EINDE'
)

select
    s.aanbieder_agb,
    s.toewijzingnummer,
    s.begindatum,
    s.einddatum,
    s.gemeentecode,
    s.subregio,
    s.pseudoniem,
    s.key_label,
    s.reden_beeindiging,
    s.cbs_categorie,
    s.counts_as_end,
    s.is_uitval,
    coalesce(
        bool_or(abs(date_diff('day', s.einddatum, r.invuldatum)) <= rmj_param('response_window_days')),
        false
    ) as has_end_response
from intermediate.cleaned_stop_zorg as s
left join end_responses as r
    on r.aanbieder_agb = s.aanbieder_agb and r.toewijzingnummer = s.toewijzingnummer
group by all
