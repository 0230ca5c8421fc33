-- Every rejected row of every kind, with its reason and the delivery it came from; never an identifier.
-- group: models
-- grain: kind, delivery_id, source_row
-- One row per rejected staging row: kind (responses, stop_zorg, goals, start_zorg), delivery_id, source_row (the row in the
-- delivered file), reason_code (from ref.reject_reasons) and reason_detail (the column or item, e.g. q03=7).
with staged_rows as (
    select 'responses' as kind, delivery_id, source_row, reject_reason, reject_detail from staging.stg_responses
    union all
    select 'stop_zorg', delivery_id, source_row, reject_reason, reject_detail from staging.stg_stop_zorg
    union all
    select 'goals', delivery_id, source_row, reject_reason, reject_detail from staging.stg_goals
    union all
    select 'start_zorg', delivery_id, source_row, reject_reason, reject_detail from staging.stg_start_zorg
)

select kind, delivery_id, source_row, reject_reason as reason_code, reject_detail as reason_detail
from staged_rows
where reject_reason is not null
