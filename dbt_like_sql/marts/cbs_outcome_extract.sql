-- The CBS half-yearly outcome extract (Beleidsinformatie Jeugd, informatieprotocol v7 section 4).
-- partition: half_year
-- group: cbs
-- grain: period, aanbieder_agb, toewijzingnummer, datum_aanvang
-- One row per trajectory (provider, toewijzingnummer, begindatum) that
--   a. ended in the period (einddatum in the half-year) with a reason that counts (cbs_categorie 01-05), or
--   b. is long-term - a DUURZAAM questionnaire for it in the period - and still running at the end of the
--      period with a known begin date: a stop record with begindatum <= period end < einddatum, or a JW305
--      start record (cleaned_start_zorg) with begindatum <= period end and no stop record of the same provider
--      and toewijzingnummer that began by the period end and ended on or after that start (such a stop
--      record decides: the trajectory ended, or it is listed running with the stop record's begin date);
-- and that has at least one CEM+ response linked to it: same aanbieder_agb + toewijzingnummer, invuldatum
-- in the period. The outcome items come from the latest response of each informant in the period (youth:
-- JONGEREN, parent: OUDERS), so at most two measurements per record, one per informant (section 4.5):
-- q09 -> tevredenheid (section 4.3, '1'-'10'), q10 -> zonder_hulp_verder (section 4.4, '01'-'04').
-- Dates are YYYYMMDD text; datum_einde and reden_beeindiging are empty (NULL) for a running trajectory.
-- Long-term trajectories that cannot be listed are counted in cbs_unlisted_trajectories.
-- No BSN, pseudonym or birth date: only the columns below leave this model.
with period_responses as (
    select
        aanbieder_agb,
        toewijzingnummer,
        respondent_group,
        care_type,
        q09,
        q10,
        row_number() over (
            partition by aanbieder_agb, toewijzingnummer, respondent_group
            order by invuldatum desc, delivery_id desc, vragenlijst asc, pseudoniem asc
        ) as recency
    from intermediate.cleaned_responses
    where invuldatum between $period_start and $period_end
),

-- per trajectory with a response in the period: the latest youth and parent answers
informants as (
    select
        aanbieder_agb,
        toewijzingnummer,
        max(q09) filter (where respondent_group = 'JONGEREN' and recency = 1) as q09_jeugdige,
        max(q10) filter (where respondent_group = 'JONGEREN' and recency = 1) as q10_jeugdige,
        max(q09) filter (where respondent_group = 'OUDERS' and recency = 1) as q09_ouder,
        max(q10) filter (where respondent_group = 'OUDERS' and recency = 1) as q10_ouder,
        bool_or(care_type = 'DUURZAAM') as long_term
    from period_responses
    group by aanbieder_agb, toewijzingnummer
),

ended_in_period as (
    select aanbieder_agb, toewijzingnummer, begindatum, einddatum, cbs_categorie
    from intermediate.cleaned_stop_zorg
    where einddatum between $period_start and $period_end and cbs_categorie is not null
),

stops_begun_by_period_end as (
    select aanbieder_agb, toewijzingnummer, begindatum, einddatum
    from intermediate.cleaned_stop_zorg
    where begindatum <= $period_end
),

running_at_period_end as (
    select aanbieder_agb, toewijzingnummer, begindatum, null::date as einddatum, null::varchar as cbs_categorie
    from stops_begun_by_period_end
    where einddatum is null or einddatum > $period_end
    union all
    -- a JW305 start whose trajectory no stop record has ended by the period end, nor lists as running
    select st.aanbieder_agb, st.toewijzingnummer, st.begindatum, null::date, null::varchar
    from intermediate.cleaned_start_zorg as st
    where st.begindatum <= $period_end
        and not exists (
            select 1
            from stops_begun_by_period_end as sp
            where sp.aanbieder_agb = st.aanbieder_agb
                and sp.toewijzingnummer = st.toewijzingnummer
                and sp.einddatum >= st.begindatum
        )
),

records as (
    select e.*, i.q09_jeugdige, i.q10_jeugdige, i.q09_ouder, i.q10_ouder
    from ended_in_period as e
    inner join informants as i
        on i.aanbieder_agb = e.aanbieder_agb and i.toewijzingnummer = e.toewijzingnummer
    union all
    select r.*, i.q09_jeugdige, i.q10_jeugdige, i.q09_ouder, i.q10_ouder
    from running_at_period_end as r
    inner join informants as i
        on i.aanbieder_agb = r.aanbieder_agb and i.toewijzingnummer = r.toewijzingnummer and i.long_term
)

select
    $period as period,
    aanbieder_agb,
    toewijzingnummer::varchar as toewijzingnummer,
    strftime(begindatum, '%Y%m%d') as datum_aanvang,
    strftime(einddatum, '%Y%m%d') as datum_einde,
    cbs_categorie as reden_beeindiging,
    q09_jeugdige::varchar as tevredenheid_jeugdige,
    lpad(q10_jeugdige::varchar, 2, '0') as zonder_hulp_verder_jeugdige,
    q09_ouder::varchar as tevredenheid_ouder,
    lpad(q10_ouder::varchar, 2, '0') as zonder_hulp_verder_ouder
from records
