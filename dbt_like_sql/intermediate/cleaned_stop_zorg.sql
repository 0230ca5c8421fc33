-- One record per trajectory (provider, toewijzingnummer, begindatum) after corrections.
-- group: clean
-- Records are applied in delivery order (received_at, then delivery, then row): the latest decides.
-- status_aanlevering 2 replaces the earlier record; 3 deletes the trajectory.
with accepted as (
    select *
    from staging.stg_stop_zorg
    where reject_reason is null
),

latest as (
    select
        *,
        row_number() over (
            partition by aanbieder_agb, toewijzingnummer, begindatum
            order by received_at desc, delivery_id desc, source_row desc
        ) as recency
    from accepted
)

select
    delivery_id, aanbieder_agb, pseudoniem, key_label, gemeentecode, subregio, toewijzingnummer,
    productcategorie, productcode, begindatum, einddatum, reden_beeindiging, cbs_categorie,
    counts_as_end, is_uitval
from latest
where recency = 1 and status_aanlevering <> 3
