-- Accepted goal rows; each measurement comes whole from the latest delivery that holds it.
-- group: clean
-- A measurement is (provider, pseudonym, toewijzingnummer, meetdatum).
with accepted as (
    select *
    from staging.stg_doelrealisatie
    where reject_reason is null
),

ranked as (
    select
        *,
        dense_rank() over (
            partition by aanbieder_agb, pseudoniem, toewijzingnummer, meetdatum
            order by received_at desc, delivery_id desc
        ) as delivery_recency
    from accepted
)

select
    delivery_id, aanbieder_agb, pseudoniem, key_label, gemeentecode, subregio, toewijzingnummer,
    trajecttype, meetdatum, doel_nr, gas_score, gewicht, probleemafname
from ranked
where delivery_recency = 1
