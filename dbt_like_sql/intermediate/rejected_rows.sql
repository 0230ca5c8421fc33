-- Every rejected row of every kind, with its reason and the delivery it came from; never an identifier.
-- group: clean
-- grain: kind, delivery_id, source_row
-- One row per rejected staging row: kind (responses, stop_zorg, goals, start_zorg), delivery_id, source_row (the row in the
-- delivered file), reason_code (from ref.reject_reasons) and reason_detail (the column or item, e.g. q03=7).
select 'responses' as kind, delivery_id, source_row, reject_reason as reason_code, reject_detail as reason_detail
from staging.stg_responses
where reject_reason is not null
union all
select 'stop_zorg' as kind, delivery_id, source_row, reject_reason as reason_code, reject_detail as reason_detail
from staging.stg_stop_zorg
where reject_reason is not null
union all
select 'goals' as kind, delivery_id, source_row, reject_reason as reason_code, reject_detail as reason_detail
from staging.stg_goals
where reject_reason is not null
union all
select 'start_zorg' as kind, delivery_id, source_row, reject_reason as reason_code, reject_detail as reason_detail
from staging.stg_start_zorg
where reject_reason is not null
