-- Stop-zorg records (JW307 messages and CSV), typed: every delivered row once, with the first reason it is rejected for.
-- group: models
-- grain: delivery_id, source_row
-- incremental: delivery_id
-- One reason per row, the first failing check in the order of ref.reject_reasons (reject_reasons.csv);
-- reject_detail names the column and the class of problem, never the value. The fields come typed from the
-- TTP step (field_types.csv): reden_beeindiging a JZ588 code of reden_beeindiging.csv (a single digit gets its
-- leading zero back: 2 -> 02), status_aanlevering 1, 2 or 3 (empty = 1); a value not of its type is NULL and
-- named in field_problems. Municipalities
-- come from ref.gemeenten and ref.region, judged on einddatum (begindatum when there is none): 0370
-- Beemster counts until its valid_until and is reported as 0439.
-- A delete (status 3) only needs the key of the record it removes (provider, toewijzingnummer, begindatum):
-- its einddatum and reden_beeindiging may be empty and are not checked (no date_invalid, date_in_future,
-- end_before_begin or reden_beeindiging_unknown for them); identity, municipality and birth date are
-- checked as for any row.
-- exact_duplicate is the last check, as in the codebook: a copy of a row that fails another check carries
-- that reason; only copies of otherwise good rows are reported as exact_duplicate (the first is kept).
with delivered_rows as (  -- noqa: ST03
    -- read by rmj_row_copies('delivered_rows') below, by name: sqlfluff does not see it read
    select *
    from pseudo.stop_zorg
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
    select
        t.*,
        coalesce(t.status_number = 3, false) as is_delete,
        rmj_municipality(t.gemeentecode, coalesce(t.einddatum, t.begindatum), g, reg) as municipality  -- noqa: RF02
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
                when m.einddatum is null and not m.is_delete
                    then {'reason': 'date_invalid', 'detail': 'einddatum'}
                when m.begindatum > current_date
                    then {'reason': 'date_in_future', 'detail': 'begindatum'}
                when m.einddatum > current_date and not m.is_delete
                    then {'reason': 'date_in_future', 'detail': 'einddatum'}
                when m.voor_geboorte
                    then {'reason': 'date_before_birth', 'detail': 'begindatum'}
                when m.einddatum < m.begindatum and not m.is_delete
                    then {'reason': 'end_before_begin', 'detail': 'einddatum'}
                when m.reden_beeindiging is null and not m.is_delete
                    then {'reason': 'reden_beeindiging_unknown', 'detail': rmj_field_detail(m.field_problems, 'reden_beeindiging')}
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
    source_format,
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
    einddatum,
    reden_beeindiging,
    try_cast(status_number as integer) as status_aanlevering,
    rejection.reason as reject_reason,
    rejection.detail as reject_detail
from checked
