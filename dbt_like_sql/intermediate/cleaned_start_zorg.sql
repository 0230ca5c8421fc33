-- One start record per trajectory (provider, toewijzingnummer, begindatum) after applying corrections and deletes.
-- group: models
-- grain: aanbieder_agb, toewijzingnummer, begindatum
-- incremental by key: aanbieder_agb, toewijzingnummer
--
-- Accepted JW305 start records are applied in delivery order (received_at, then delivery_id, then
-- source_row within one delivery), as cleaned_stop_zorg does: the latest record of a key decides;
-- status_aanlevering 1 or 2 gives the record, a 3 (delete) removes the trajectory's start, and a later 1
-- or 2 brings it back. A start record says the trajectory began; whether it still runs is the stop
-- records' to say (cbs_outcome_extract).
with accepted_records as (  -- noqa: ST03
    -- read by rmj_latest_of_key('accepted_records') below, by name: sqlfluff does not see it read
    select *, (aanbieder_agb, toewijzingnummer, begindatum) as record_key
    from staging.stg_start_zorg
    where reject_reason is null
)

select
    delivery_id,
    aanbieder_agb,
    pseudoniem,
    key_label,
    gemeentecode,
    subregio,
    toewijzingnummer,
    productcategorie,
    productcode,
    begindatum
from rmj_latest_of_key('accepted_records')  -- the latest record of each key
where status_aanlevering <> 3
