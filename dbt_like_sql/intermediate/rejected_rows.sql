-- Every rejected row of every kind, with its reason and the delivery it came from; never an identifier.
-- group: clean
select 'cem' as kind, delivery_id, source_row, reject_reason as reason_code, reject_detail as reason_detail
from staging.stg_cem_responses
where reject_reason is not null
union all
select 'stopzorg', delivery_id, source_row, reject_reason, reject_detail
from staging.stg_stop_zorg
where reject_reason is not null
union all
select 'doelen', delivery_id, source_row, reject_reason, reject_detail
from staging.stg_doelrealisatie
where reject_reason is not null
