-- CEM+ responses, typed: every delivered row once, with the first reason it is rejected for.
-- group: clean
-- Reasons come from ref.reject_reasons and are tested in the order of that file; answer ranges come
-- from ref.cem_items (unpivoted, so no range is written here). 0370 Beemster is reported as 0439.
-- An exact copy of an earlier row of the same delivery is rejected as exact_duplicate (counted once).
with source as (
    select r.*, d.received_at
    from pseudo.cem_responses as r
    inner join audit.deliveries as d on d.delivery_id = r.delivery_id
),

typed as (
    select
        *,
        rmj_gemeentecode(gemeentecode) as gemeentecode4,
        rmj_date(invuldatum) as invuldatum_date,
        upper(vragenlijst) as vragenlijst_code,
        row_number() over (
            partition by delivery_id, aanbieder_agb, pseudoniem, id_status, gemeentecode, toewijzingnummer,
                geboortejaarmaand, vragenlijst, invuldatum, q01, q02, q03, q04, q05, q06, q07, q08, q09, q10,
                geen_inzage_hulpverlener
            order by source_row
        ) as copy_number
    from source
),

answers as (
    unpivot (select delivery_id, source_row, q01, q02, q03, q04, q05, q06, q07, q08, q09, q10 from source)
    on q01, q02, q03, q04, q05, q06, q07, q08, q09, q10
    into name item value answer
),

first_bad_answer as (
    select a.delivery_id, a.source_row, arg_min(a.item || '=' || a.answer, a.item) as detail
    from answers as a
    inner join ref.cem_items as i on i.item = a.item
    where trim(a.answer) <> ''
        and coalesce(
            try_cast(trim(a.answer) as integer) between i.min_value and i.max_value
            or try_cast(trim(a.answer) as integer) = i.not_applicable_value,
            false
        ) = false
    group by a.delivery_id, a.source_row
),

municipality as (
    select
        t.delivery_id,
        t.source_row,
        g.gemeentecode is not null or r.gemeentecode is not null as known,
        r.gemeentecode is not null as in_region,
        r.reported_as,
        r.subregio
    from typed as t
    left join ref.gemeenten as g on g.gemeentecode = t.gemeentecode4
    left join ref.region as r
        on r.gemeentecode = t.gemeentecode4
        and (r.valid_until is null or t.invuldatum_date <= try_cast(r.valid_until as date))
),

flagged as (
    select
        t.*,
        m.reported_as,
        m.subregio,
        v.respondent_group,
        v.care_type,
        case
            when t.id_status not in ('ok', 'unknown') then t.id_status
            when not coalesce(regexp_full_match(t.aanbieder_agb, '[0-9]{8}'), false) then 'agb_invalid'
            when not m.known then 'gemeentecode_unknown'
            when not m.in_region then 'gemeentecode_out_of_region'
            when not coalesce(regexp_full_match(t.toewijzingnummer, '[0-9]{1,9}'), false) then 'toewijzingnummer_invalid'
            when t.geboortejaarmaand is null then 'birthdate_invalid'
            when t.invuldatum_date is null then 'date_invalid'
            when t.invuldatum_date > current_date then 'date_in_future'
            when t.voor_geboorte then 'date_before_birth'
            when v.vragenlijst is null then 'vragenlijst_unknown'
            when t.leeftijd < v.min_age or t.leeftijd > v.max_age then 'version_age_mismatch'
            when b.detail is not null then 'answer_out_of_range'
            when lower(coalesce(t.geen_inzage_hulpverlener, '0')) not in ('0', '1', 'ja', 'nee', 'j', 'n', 'true', 'false', 'yes', 'no') then 'answer_out_of_range'
            when t.copy_number > 1 then 'exact_duplicate'
        end as reject_reason,
        case
            when t.invuldatum_date is null or t.invuldatum_date > current_date then 'invuldatum'
            when b.detail is not null then b.detail
            when lower(coalesce(t.geen_inzage_hulpverlener, '0')) not in ('0', '1', 'ja', 'nee', 'j', 'n', 'true', 'false', 'yes', 'no')
                then 'geen_inzage_hulpverlener'
            when v.vragenlijst is not null and (t.leeftijd < v.min_age or t.leeftijd > v.max_age)
                then t.vragenlijst_code || ' at age ' || t.leeftijd
        end as candidate_detail
    from typed as t
    inner join municipality as m on m.delivery_id = t.delivery_id and m.source_row = t.source_row
    left join ref.vragenlijsten as v on v.vragenlijst = t.vragenlijst_code
    left join first_bad_answer as b on b.delivery_id = t.delivery_id and b.source_row = t.source_row
)

select
    delivery_id,
    source_row,
    received_at,
    key_label,
    id_status,
    pseudoniem,
    aanbieder_agb,
    reported_as as gemeentecode,
    subregio,
    try_cast(toewijzingnummer as bigint) as toewijzingnummer,
    vragenlijst_code as vragenlijst,
    respondent_group,
    care_type,
    invuldatum_date as invuldatum,
    leeftijd,
    try_cast(nullif(trim(q01), '') as integer) as q01,
    try_cast(nullif(trim(q02), '') as integer) as q02,
    try_cast(nullif(trim(q03), '') as integer) as q03,
    try_cast(nullif(trim(q04), '') as integer) as q04,
    try_cast(nullif(trim(q05), '') as integer) as q05,
    try_cast(nullif(trim(q06), '') as integer) as q06,
    try_cast(nullif(trim(q07), '') as integer) as q07,
    try_cast(nullif(trim(q08), '') as integer) as q08,
    try_cast(nullif(trim(q09), '') as integer) as q09,
    try_cast(nullif(trim(q10), '') as integer) as q10,
    lower(coalesce(geen_inzage_hulpverlener, '0')) in ('1', 'ja', 'j', 'true', 'yes') as geen_inzage_hulpverlener,
    reject_reason,
    case
        when reject_reason in ('date_invalid', 'date_in_future', 'answer_out_of_range', 'version_age_mismatch')
            then candidate_detail
    end as reject_detail
from flagged
