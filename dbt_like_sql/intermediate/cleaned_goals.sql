-- Accepted goal rows; each measurement comes whole from the latest delivery that holds it.
-- group: models
-- grain: aanbieder_agb, pseudoniem?, toewijzingnummer, meetdatum, doel_nr
-- incremental by key: aanbieder_agb, toewijzingnummer
-- A measurement is (provider, pseudonym, toewijzingnummer, meetdatum). Its rows are taken from the latest
-- delivery (received_at, then delivery_id) with accepted rows for it; rows of earlier deliveries are
-- replaced, not merged. Measurements of an unknown BSN (no pseudonym) are never linked: their delivery
-- stands in for the pseudonym, so one delivery never replaces another's.
with accepted_goals as (
    select *
    from staging.stg_goals
    where reject_reason is null
),

goals_by_delivery_recency as (
    select
        *,
        dense_rank() over (
            partition by
                aanbieder_agb,
                coalesce(pseudoniem, 'delivery ' || delivery_id),
                toewijzingnummer,
                meetdatum
            order by received_at desc nulls last, delivery_id desc
        ) as delivery_recency
    from accepted_goals
)

select
    delivery_id,
    aanbieder_agb,
    pseudoniem,
    key_label,
    gemeentecode,
    subregio,
    toewijzingnummer,
    trajecttype,
    meetdatum,
    doel_nr,
    gas_score,
    gewicht,
    probleemafname
from goals_by_delivery_recency
where delivery_recency = 1
