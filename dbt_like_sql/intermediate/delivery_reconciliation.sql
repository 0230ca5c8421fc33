-- Per loaded delivery: rows read = rows accepted + rows rejected (a blocking check holds it to that).
-- group: clean
-- rows_read is what the ingest/TTP step counted in the file (audit.deliveries); accepted and rejected are
-- what staging made of that delivery's rows (reject_reason NULL or not). A delivery whose rows did not reach
-- staging shows 0 accepted and 0 rejected and is not reconciled.
with staged_rows as (
    select delivery_id, reject_reason from staging.stg_cem_responses
    union all
    select delivery_id, reject_reason from staging.stg_stop_zorg
    union all
    select delivery_id, reject_reason from staging.stg_doelrealisatie
),

staged_counts as (
    select
        delivery_id,
        count(*) filter (where reject_reason is null) as rows_accepted,
        count(*) filter (where reject_reason is not null) as rows_rejected
    from staged_rows
    group by delivery_id
)

select
    d.delivery_id,
    d.kind,
    d.rows_read,
    coalesce(s.rows_accepted, 0) as rows_accepted,
    coalesce(s.rows_rejected, 0) as rows_rejected,
    coalesce(d.rows_read = coalesce(s.rows_accepted, 0) + coalesce(s.rows_rejected, 0), false) as reconciled
from audit.deliveries as d
left join staged_counts as s on s.delivery_id = d.delivery_id
where d.status = 'loaded'
