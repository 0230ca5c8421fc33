-- The CBS half-yearly outcome extract (Beleidsinformatie Jeugd, informatieprotocol v7 section 4).
-- partition: half_year
-- group: cbs
-- One row per trajectory (provider, toewijzingnummer, begindatum) that ended in the period with a
-- counting reason, or that is long-term (a DUURZAAM questionnaire in the period) with a known begin date,
-- and that has a CEM+ response in the period. Outcome items come from the latest response of each
-- informant (youth, parent) in the period: at most two measurements per record (section 4.5).
-- No BSN, pseudonym or birth date.
with responses as (
    select
        aanbieder_agb, toewijzingnummer, respondent_group, care_type, invuldatum, q09, q10,
        row_number() over (
            partition by aanbieder_agb, toewijzingnummer, respondent_group
            order by invuldatum desc, delivery_id desc
        ) as recency
    from intermediate.cleaned_responses
    where invuldatum between $period_start and $period_end
),

informants as (
    select
        aanbieder_agb,
        toewijzingnummer,
        max(q09) filter (where respondent_group = 'JONGEREN' and recency = 1) as q09_jeugdige,
        max(q10) filter (where respondent_group = 'JONGEREN' and recency = 1) as q10_jeugdige,
        max(q09) filter (where respondent_group = 'OUDERS' and recency = 1) as q09_ouder,
        max(q10) filter (where respondent_group = 'OUDERS' and recency = 1) as q10_ouder,
        bool_or(care_type = 'DUURZAAM') as long_term_response
    from responses
    group by aanbieder_agb, toewijzingnummer
),

ended as (
    select aanbieder_agb, toewijzingnummer, begindatum, einddatum, cbs_categorie
    from intermediate.cleaned_stop_zorg
    where einddatum between $period_start and $period_end and cbs_categorie is not null
),

running_long_term as (
    select s.aanbieder_agb, s.toewijzingnummer, s.begindatum, null::date as einddatum, null::varchar as cbs_categorie
    from intermediate.cleaned_stop_zorg as s
    inner join informants as i
        on i.aanbieder_agb = s.aanbieder_agb and i.toewijzingnummer = s.toewijzingnummer and i.long_term_response
    where s.begindatum <= $period_end and s.einddatum > $period_end
),

records as (
    select * from ended
    union
    select * from running_long_term
)

select
    $period as period,
    r.aanbieder_agb,
    r.toewijzingnummer,
    strftime(r.begindatum, '%Y%m%d') as datum_aanvang,
    strftime(r.einddatum, '%Y%m%d') as datum_einde,
    r.cbs_categorie as reden_beeindiging,
    i.q09_jeugdige::varchar as tevredenheid_jeugdige,
    lpad(i.q10_jeugdige::varchar, 2, '0') as zonder_hulp_verder_jeugdige,
    i.q09_ouder::varchar as tevredenheid_ouder,
    lpad(i.q10_ouder::varchar, 2, '0') as zonder_hulp_verder_ouder
from records as r
inner join informants as i on i.aanbieder_agb = r.aanbieder_agb and i.toewijzingnummer = r.toewijzingnummer
