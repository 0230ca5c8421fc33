-- Start-zorg records (JW305 "Start jeugdhulp" messages), typed: every delivered row once, with the first reason it is rejected for.
-- group: models
-- grain: delivery_id, source_row
-- incremental: delivery_id
--
-- One reason per row, the first failing check in the order of ref.reject_reasons (reject_reasons.csv);
-- reject_detail names the column and the class of problem, never the value (fields come typed from the TTP
-- step, field_types.csv; a value not of its type is NULL and named in field_problems). A start record gives a trajectory (provider, toewijzingnummer,
-- begindatum) its begin date before any stop record does. status_aanlevering is 1, 2 or 3 (empty = 1).
-- Municipalities come from ref.gemeenten and ref.region, judged on begindatum: 0370 Beemster counts until
-- its valid_until and is reported as 0439. The same field rules as stg_stop_zorg (macros.sql).
-- exact_duplicate is the last check, as in the codebook: only copies of otherwise good rows are reported
-- as exact_duplicate (the first is kept).
with delivered_rows as (  -- noqa: ST03
    -- read by rmj_row_copies('delivered_rows') below, by name: sqlfluff does not see it read
    select *
    from pseudo.start_zorg
    where $delivery_ids is null or list_contains($delivery_ids, delivery_id)  -- this run's deliveries
),

typed as (
    select
        r.*,
        d.received_at,
        case
            when r.status_aanlevering is null and rmj_field_problems(r.field_problems, ['status_aanlevering']) is null
                then 1
            else r.status_aanlevering
        end as status_number
    from rmj_row_copies('delivered_rows') as r  -- each with its row_copy
    left join audit.deliveries as d on d.delivery_id = r.delivery_id
),

municipality_lookup as (
    select t.*, rmj_municipality(t.gemeentecode, t.begindatum, g, reg) as municipality  -- noqa: RF02
    from typed as t
    left join ref.gemeenten as g on g.gemeentecode = t.gemeentecode
    left join ref.region as reg on reg.gemeentecode = t.gemeentecode
),

checked as (
    select
        m.*,
        coalesce(
            rmj_delivery_rejection(
                m.id_status, m.identifier_in_field, m.field_problems, m.aanbieder_agb, m.municipality, m.toewijzingnummer
            ),
            case
                when m.geboortejaarmaand is null
                    then {'reason': 'birthdate_invalid', 'detail': 'geboortedatum'}
                when m.begindatum is null
                    then {'reason': 'date_invalid', 'detail': 'begindatum'}
                when m.begindatum > current_date
                    then {'reason': 'date_in_future', 'detail': 'begindatum'}
                when m.voor_geboorte
                    then {'reason': 'date_before_birth', 'detail': 'begindatum'}
                when m.status_number is null or m.status_number not in (1, 2, 3)
                    then {'reason': 'status_aanlevering_invalid', 'detail': rmj_field_detail(m.field_problems, 'status_aanlevering')}
            end,
            rmj_exact_duplicate(m.row_copy)
        ) as rejection
    from municipality_lookup as m
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
    productcategorie,
    productcode,
    begindatum,
    try_cast(status_number as integer) as status_aanlevering,
    rejection.reason as reject_reason,
    rejection.detail as reject_detail
from checked
