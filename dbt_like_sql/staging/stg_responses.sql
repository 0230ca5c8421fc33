-- CEM+ responses, typed: every delivered row once, with the first reason it is rejected for (NULL = accepted).
-- group: clean
-- grain: delivery_id, source_row
-- incremental: delivery_id
-- One reason per row: the checks run in the order of ref.reject_reasons (reject_reasons.csv) and the
-- first that fails is the reason; reject_detail names the column or item (e.g. q03=7). Answer ranges
-- come from ref.cem_items, versions and ages from ref.vragenlijsten, municipalities from ref.gemeenten
-- and ref.region (0370 Beemster counts until its valid_until and is reported as 0439). Empty means not
-- answered; geen_inzage_hulpverlener empty means false. The identity was judged by the TTP step
-- (id_status): rows of an unknown BSN are accepted without a pseudonym.
-- exact_duplicate is the last check, as in the codebook: a copy of a row that fails another check carries
-- that reason (both rows are rejected and reported); only copies of otherwise good rows are reported as
-- exact_duplicate, the first of them (lowest source_row) is kept.
with delivered_rows as (
    select *, rmj_row_copy(struct_pack(*columns(* exclude (source_row))), source_row) as row_copy
    from pseudo.responses
    where $delivery_ids is null or list_contains($delivery_ids, delivery_id)  -- this run's deliveries
),

typed as (
    select
        r.*,
        d.received_at,
        rmj_agb(r.aanbieder_agb) as agb_code,
        rmj_gemeentecode(r.gemeentecode) as gemeente_code,
        rmj_toewijzingnummer(r.toewijzingnummer) as toewijzing_number,
        rmj_date(r.invuldatum) as invuldatum_date,
        upper(trim(r.vragenlijst)) as vragenlijst_code,
        case
            when nullif(trim(r.geen_inzage_hulpverlener), '') is not null
                and rmj_boolean(r.geen_inzage_hulpverlener) is null
                then rmj_reject_detail('geen_inzage_hulpverlener', r.geen_inzage_hulpverlener)
        end as bad_inzage_detail
    from delivered_rows as r
    left join audit.deliveries as d on d.delivery_id = r.delivery_id
),

municipality_lookup as (
    select t.*, rmj_municipality(t.gemeente_code, t.invuldatum_date, g, reg) as municipality  -- noqa: RF02
    from typed as t
    left join ref.gemeenten as g on g.gemeentecode = t.gemeente_code
    left join ref.region as reg on reg.gemeentecode = t.gemeente_code
),

answer_values as (
    unpivot (
        select delivery_id, source_row, q01, q02, q03, q04, q05, q06, q07, q08, q09, q10
        from pseudo.responses
        where $delivery_ids is null or list_contains($delivery_ids, delivery_id)
    )
    on q01, q02, q03, q04, q05, q06, q07, q08, q09, q10
    into name item value answer
),

valid_answer_numbers as (
    select item, unnest(generate_series(min_value, max_value)) as answer_number
    from ref.cem_items
    union
    select item, not_applicable_value
    from ref.cem_items
    where not_applicable_value is not null
),

-- an answer is valid as the plain number or with a leading zero: '4' or '04' (q10 is delivered as 01-04)
valid_answers as (
    select item, answer_number::varchar as answer from valid_answer_numbers
    union
    select item, lpad(answer_number::varchar, 2, '0') from valid_answer_numbers
),

answers_out_of_range as (
    select
        a.delivery_id,
        a.source_row,
        string_agg(rmj_reject_detail(a.item, a.answer), ', ' order by a.item) as detail
    from answer_values as a
    anti join valid_answers as v on v.item = a.item and v.answer = trim(a.answer)
    where nullif(trim(a.answer), '') is not null
    group by a.delivery_id, a.source_row
),

checked as (
    select
        m.*,
        v.respondent_group,
        v.care_type,
        coalesce(
            rmj_delivery_rejection(
                m.id_status, m.identifier_in_field, m.aanbieder_agb, m.gemeentecode, m.municipality, m.toewijzingnummer
            ),
            case
                when m.geboortejaarmaand is null or (m.leeftijd is null and m.invuldatum_date is not null)
                    then {'reason': 'birthdate_invalid', 'detail': 'geboortedatum'}
                when m.invuldatum_date is null
                    then {'reason': 'date_invalid', 'detail': 'invuldatum'}
                when m.invuldatum_date > current_date
                    then {'reason': 'date_in_future', 'detail': 'invuldatum'}
                when m.voor_geboorte
                    then {'reason': 'date_before_birth', 'detail': 'invuldatum'}
                when v.vragenlijst is null
                    then {'reason': 'vragenlijst_unknown', 'detail': rmj_reject_detail('vragenlijst', m.vragenlijst)}
                -- with the day of birth unknown (YYYYMM00) the age lies between leeftijd_min and leeftijd: only an age
                -- that certainly does not fit is a mismatch
                when m.leeftijd < v.min_age or coalesce(m.leeftijd_min, m.leeftijd) > v.max_age
                    then {'reason': 'version_age_mismatch', 'detail': 'vragenlijst=' || v.vragenlijst || ', leeftijd=' || m.leeftijd}
                when b.detail is not null or m.bad_inzage_detail is not null
                    then {'reason': 'answer_out_of_range', 'detail': concat_ws(', ', b.detail, m.bad_inzage_detail)}
            end,
            rmj_exact_duplicate(m.row_copy)
        ) as rejection
    from municipality_lookup as m
    left join ref.vragenlijsten as v on v.vragenlijst = m.vragenlijst_code
    left join answers_out_of_range as b on b.delivery_id = m.delivery_id and b.source_row = m.source_row
)

select
    delivery_id,
    source_row,
    received_at,
    key_label,
    id_status,
    pseudoniem,
    coalesce(agb_code, aanbieder_agb) as aanbieder_agb,
    municipality.gemeentecode as gemeentecode,
    municipality.subregio as subregio,
    toewijzing_number as toewijzingnummer,
    geboortejaarmaand,
    leeftijd,
    vragenlijst_code as vragenlijst,
    respondent_group,
    care_type,
    invuldatum_date as invuldatum,
    try_cast(rmj_whole_number(q01) as integer) as q01,
    try_cast(rmj_whole_number(q02) as integer) as q02,
    try_cast(rmj_whole_number(q03) as integer) as q03,
    try_cast(rmj_whole_number(q04) as integer) as q04,
    try_cast(rmj_whole_number(q05) as integer) as q05,
    try_cast(rmj_whole_number(q06) as integer) as q06,
    try_cast(rmj_whole_number(q07) as integer) as q07,
    try_cast(rmj_whole_number(q08) as integer) as q08,
    try_cast(rmj_whole_number(q09) as integer) as q09,
    try_cast(rmj_whole_number(q10) as integer) as q10,
    coalesce(rmj_boolean(geen_inzage_hulpverlener), false) as geen_inzage_hulpverlener,
    rejection.reason as reject_reason,
    rejection.detail as reject_detail
from checked
