-- Per loaded delivery: rows read = rows accepted + rows rejected (a blocking check holds it to that).
-- group: clean
-- Read from the audit trail (what the TTP step counted in the file) against what staging classified.
with staged as (
    select delivery_id, any_value(aanbieder_agb) as aanbieder_agb, count(*) filter (where reject_reason is null) as accepted, count(*) filter (where reject_reason is not null) as rejected
    from staging.stg_cem_responses group by delivery_id
    union all
    select delivery_id, any_value(aanbieder_agb), count(*) filter (where reject_reason is null), count(*) filter (where reject_reason is not null)
    from staging.stg_stop_zorg group by delivery_id
    union all
    select delivery_id, any_value(aanbieder_agb), count(*) filter (where reject_reason is null), count(*) filter (where reject_reason is not null)
    from staging.stg_doelrealisatie group by delivery_id
)

select
    d.delivery_id,
    d.kind,
    d.source_format,
    d.file_name,
    d.received_at,
    s.aanbieder_agb,
    d.rows_read,
    coalesce(s.accepted, 0) as rows_accepted,
    coalesce(s.rejected, 0) as rows_rejected,
    d.rows_read = coalesce(s.accepted, 0) + coalesce(s.rejected, 0) as reconciled
from audit.deliveries as d
left join staged as s on s.delivery_id = d.delivery_id
where d.status = 'loaded'
