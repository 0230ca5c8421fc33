-- Per delivery: what came in and where every row went; the data engineer's view for calling a provider back.
-- group: models
-- grain: delivery_id
-- One row per delivery in audit.deliveries (loaded or quarantined): provider, file name, received at, kind,
-- processed_at (when the pipeline last handled it), status and quarantine reason; rows_read is what the
-- ingest/TTP step counted in the file, accepted and
-- rejected are what staging made of that delivery's rows (reject_reason NULL or not), rejected_by_reason
-- the rejected rows per reason code (e.g. "answer_out_of_range=3, bsn_elfproef=1"). duplicate_files counts
-- later copies of the same bytes (audit.file_receipts), recorded but never loaded again.
-- reconciled: a loaded delivery has rows_read = rows_accepted + rows_rejected (a blocking check holds it to
-- that); a quarantined one read no rows and is kept whole in quarantine/; anything else (claimed but never
-- loaded) is not reconciled.
with staged_rows as (
    select delivery_id, aanbieder_agb, reject_reason from staging.stg_responses
    union all
    select delivery_id, aanbieder_agb, reject_reason from staging.stg_stop_zorg
    union all
    select delivery_id, aanbieder_agb, reject_reason from staging.stg_goals
    union all
    select delivery_id, aanbieder_agb, reject_reason from staging.stg_start_zorg
),

staged_counts as (
    select
        delivery_id,
        mode(aanbieder_agb) as aanbieder_agb,
        count(*) filter (where reject_reason is null) as rows_accepted,
        count(*) filter (where reject_reason is not null) as rows_rejected
    from staged_rows
    group by delivery_id
),

rejected_by_reason as (
    -- (sqlfluff's DuckDB dialect does not parse ORDER BY inside an aggregate)
    select delivery_id, string_agg(reject_reason || '=' || rows, ', ' order by rows desc, reject_reason) as rejected_by_reason  -- noqa: PRS
    from (
        select delivery_id, reject_reason, count(*) as rows
        from staged_rows
        where reject_reason is not null
        group by delivery_id, reject_reason
    )
    group by delivery_id
),

duplicates as (
    select delivery_id, count(*) as duplicate_files
    from audit.file_receipts
    where outcome = 'duplicate'
    group by delivery_id
)

select
    d.delivery_id,
    s.aanbieder_agb,
    d.file_name,
    d.received_at,
    d.processed_at,
    d.kind,
    d.source_format,
    d.status,
    d.reason_code as quarantine_reason,
    d.reason_message as quarantine_message,
    coalesce(d.rows_read, 0) as rows_read,
    coalesce(s.rows_accepted, 0) as rows_accepted,
    coalesce(s.rows_rejected, 0) as rows_rejected,
    r.rejected_by_reason,
    coalesce(u.duplicate_files, 0) as duplicate_files,
    case d.status
        when 'loaded' then coalesce(d.rows_read = coalesce(s.rows_accepted, 0) + coalesce(s.rows_rejected, 0), false)
        when 'quarantined' then coalesce(d.rows_read, 0) = 0
        else false
    end as reconciled
from audit.deliveries as d
left join staged_counts as s on s.delivery_id = d.delivery_id
left join rejected_by_reason as r on r.delivery_id = d.delivery_id
left join duplicates as u on u.delivery_id = d.delivery_id
