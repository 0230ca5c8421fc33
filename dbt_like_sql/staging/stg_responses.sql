-- CEM+ responses, typed: every delivered row once, with the first reason it is rejected for (NULL = accepted).
-- group: models
-- grain: delivery_id, source_row
-- incremental: delivery_id
-- One reason per row: the checks run in the order of ref.reject_reasons (reject_reasons.csv) and the
-- first that fails is the reason; reject_detail names the column or item and the class of problem (e.g.
-- q03: not an answer code), never the value. The fields come typed from the TTP step (field_types.csv):
-- a value not of its type is NULL and named in field_problems (valid answers per item from ref.cem_items
-- there). Versions and ages come from ref.vragenlijsten, municipalities from ref.gemeenten
-- and ref.region (0370 Beemster counts until its valid_until and is reported as 0439). Empty means not
-- answered; geen_inzage_hulpverlener empty means false. The identity was judged by the TTP step
-- (id_status): rows of an unknown BSN are accepted without a pseudonym.
-- exact_duplicate is the last check, as in the codebook: a copy of a row that fails another check carries
-- that reason (both rows are rejected and reported); only copies of otherwise good rows are reported as
-- exact_duplicate, the first of them (lowest source_row) is kept.
with delivered_rows as (  -- noqa: ST03
    -- read by rmj_row_copies('delivered_rows') below, by name: sqlfluff does not see it read
    select *
    from pseudo.responses
    where $delivery_ids is null or list_contains($delivery_ids, delivery_id)  -- this run's deliveries
),

typed as (
    select
        r.*,
        d.received_at,
        rmj_field_problems(
            r.field_problems, ['q01', 'q02', 'q03', 'q04', 'q05', 'q06', 'q07', 'q08', 'q09', 'q10', 'geen_inzage_hulpverlener']
        ) as answer_problems
    from rmj_row_copies('delivered_rows') as r  -- each with its row_copy
    left join audit.deliveries as d on d.delivery_id = r.delivery_id
),

municipality_lookup as (
    select t.*, rmj_municipality(t.gemeentecode, t.invuldatum, g, reg) as municipality  -- noqa: RF02
    from typed as t
    left join ref.gemeenten as g on g.gemeentecode = t.gemeentecode
    left join ref.region as reg on reg.gemeentecode = t.gemeentecode
),

checked as (
    select
        m.*,
        v.respondent_group,
        v.care_type,
        coalesce(
            rmj_delivery_rejection(
                m.id_status, m.identifier_in_field, m.field_problems, m.aanbieder_agb, m.municipality, m.toewijzingnummer
            ),
            case
                when m.geboortejaarmaand is null or (m.leeftijd is null and m.invuldatum is not null)
                    then {'reason': 'birthdate_invalid', 'detail': 'geboortedatum'}
                when m.invuldatum is null
                    then {'reason': 'date_invalid', 'detail': 'invuldatum'}
                when m.invuldatum > current_date
                    then {'reason': 'date_in_future', 'detail': 'invuldatum'}
                when m.voor_geboorte
                    then {'reason': 'date_before_birth', 'detail': 'invuldatum'}
                when v.vragenlijst is null
                    then {'reason': 'vragenlijst_unknown', 'detail': rmj_field_detail(m.field_problems, 'vragenlijst')}
                -- with the day of birth unknown (YYYYMM00) the age lies between leeftijd_min and leeftijd: only an age
                -- that certainly does not fit is a mismatch
                when m.leeftijd < v.min_age or coalesce(m.leeftijd_min, m.leeftijd) > v.max_age
                    then {'reason': 'version_age_mismatch', 'detail': 'vragenlijst=' || v.vragenlijst || ', leeftijd=' || m.leeftijd}
                when m.answer_problems is not null
                    then {'reason': 'answer_out_of_range', 'detail': m.answer_problems}
            end,
            rmj_exact_duplicate(m.row_copy)
        ) as rejection
    from municipality_lookup as m
    left join ref.vragenlijsten as v on v.vragenlijst = m.vragenlijst
)

select
    delivery_id,
    source_row,
    received_at,
    key_label,
    id_status,
    pseudoniem,
    aanbieder_agb,
    municipality.gemeentecode as gemeentecode,
    municipality.subregio as subregio,
    toewijzingnummer,
    geboortejaarmaand,
    leeftijd,
    vragenlijst,
    respondent_group,
    care_type,
    invuldatum,
    q01,
    q02,
    q03,
    q04,
    q05,
    q06,
    q07,
    q08,
    q09,
    q10,
    coalesce(geen_inzage_hulpverlener, false) as geen_inzage_hulpverlener,
    rejection.reason as reject_reason,
    rejection.detail as reject_detail
from checked
