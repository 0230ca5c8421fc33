-- One record per trajectory (provider, toewijzingnummer, begindatum) after applying corrections and deletes.
-- group: models
-- grain: aanbieder_agb, toewijzingnummer, begindatum
-- incremental by key: aanbieder_agb, toewijzingnummer
-- Accepted stop records are applied in delivery order (received_at, then delivery_id, then source_row
-- within one delivery): the latest record of a key decides. status_aanlevering 1 or 2 gives the record
-- (2 replaces the earlier one); when the latest is a 3 (delete) the trajectory is gone. A later 1 or 2 after
-- a delete brings the trajectory back. The reason of ending is classified by ref.reden_beeindiging:
-- CBS category, whether it counts as an end of care, whether it is uitval.
with accepted_records as (  -- noqa: ST03
    -- read by rmj_latest_of_key('accepted_records') below, by name: sqlfluff does not see it read
    select *, (aanbieder_agb, toewijzingnummer, begindatum) as record_key
    from staging.stg_stop_zorg
    where reject_reason is null
),

current_records as (
    select *
    from rmj_latest_of_key('accepted_records')  -- the latest record of each key
    where status_aanlevering <> 3
)

select
    r.delivery_id,
    r.aanbieder_agb,
    r.pseudoniem,
    r.key_label,
    r.gemeentecode,
    r.subregio,
    r.toewijzingnummer,
    r.productcategorie,
    r.productcode,
    r.begindatum,
    r.einddatum,
    r.reden_beeindiging,
    rb.cbs_categorie,
    coalesce(rb.counts_as_end, false) as counts_as_end,
    coalesce(rb.is_uitval, false) as is_uitval
from current_records as r
left join ref.reden_beeindiging as rb on rb.reden_beeindiging = r.reden_beeindiging
