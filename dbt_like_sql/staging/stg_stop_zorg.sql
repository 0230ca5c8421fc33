-- Stop-zorg records (JW307 messages and CSV), typed: every delivered row once, with the first reason it is rejected for.
-- group: clean
-- grain: delivery_id, source_row
-- incremental: delivery_id
-- One reason per row, the first failing check in the order of ref.reject_reasons (reject_reasons.csv);
-- reject_detail names the column. reden_beeindiging must be a JZ588 code of ref.reden_beeindiging (a single
-- digit gets its leading zero back: 2 -> 02); status_aanlevering is 1, 2 or 3 (empty = 1). Municipalities
-- come from ref.gemeenten and ref.region, judged on einddatum (begindatum when there is none): 0370
-- Beemster counts until its valid_until and is reported as 0439.
-- A delete (status 3) only needs the key of the record it removes (provider, toewijzingnummer, begindatum):
-- its einddatum and reden_beeindiging may be empty and are not checked (no date_invalid, date_in_future,
-- end_before_begin or reden_beeindiging_unknown for them); identity, municipality and birth date are
-- checked as for any row.
-- exact_duplicate is the last check, as in the codebook: a copy of a row that fails another check carries
-- that reason; only copies of otherwise good rows are reported as exact_duplicate (the first is kept).
with delivered_rows as (
    select *, rmj_row_copy(struct_pack(*columns(* exclude (source_row))), source_row) as row_copy
    from pseudo.stop_zorg
    where $delivery_ids is null or list_contains($delivery_ids, delivery_id)  -- this run's deliveries
),

typed as (
    select
        r.*,
        d.received_at,
        rmj_agb(r.aanbieder_agb) as agb_code,
        rmj_gemeentecode(r.gemeentecode) as gemeente_code,
        rmj_toewijzingnummer(r.toewijzingnummer) as toewijzing_number,
        rmj_date(r.begindatum) as begindatum_date,
        rmj_date(r.einddatum) as einddatum_date,
        case
            when regexp_full_match(trim(r.reden_beeindiging), '[0-9]') then '0' || trim(r.reden_beeindiging)
            else nullif(trim(r.reden_beeindiging), '')
        end as reden_code,
        rmj_status_aanlevering(r.status_aanlevering) as status_number
    from delivered_rows as r
    left join audit.deliveries as d on d.delivery_id = r.delivery_id
),

municipality_lookup as (
    select
        t.*,
        coalesce(t.status_number = 3, false) as is_delete,
        rmj_municipality(t.gemeente_code, coalesce(t.einddatum_date, t.begindatum_date), g, reg) as municipality,  -- noqa: RF02
        rb.reden_beeindiging is not null as reden_known
    from typed as t
    left join ref.gemeenten as g on g.gemeentecode = t.gemeente_code
    left join ref.region as reg on reg.gemeentecode = t.gemeente_code
    left join ref.reden_beeindiging as rb on rb.reden_beeindiging = t.reden_code
),

checked as (
    select
        m.*,
        coalesce(
            rmj_delivery_rejection(
                m.id_status, m.identifier_in_field, m.aanbieder_agb, m.gemeentecode, m.municipality, m.toewijzingnummer
            ),
            case
                when m.geboortejaarmaand is null
                    then {'reason': 'birthdate_invalid', 'detail': 'geboortedatum'}
                when m.begindatum_date is null
                    then {'reason': 'date_invalid', 'detail': 'begindatum'}
                when m.einddatum_date is null and not m.is_delete
                    then {'reason': 'date_invalid', 'detail': 'einddatum'}
                when m.begindatum_date > current_date
                    then {'reason': 'date_in_future', 'detail': 'begindatum'}
                when m.einddatum_date > current_date and not m.is_delete
                    then {'reason': 'date_in_future', 'detail': 'einddatum'}
                when m.voor_geboorte
                    then {'reason': 'date_before_birth', 'detail': 'begindatum'}
                when m.einddatum_date < m.begindatum_date and not m.is_delete
                    then {'reason': 'end_before_begin', 'detail': 'einddatum'}
                when not m.reden_known and not m.is_delete
                    then {'reason': 'reden_beeindiging_unknown', 'detail': rmj_reject_detail('reden_beeindiging', m.reden_beeindiging)}
                when m.status_number is null or m.status_number not in (1, 2, 3)
                    then {'reason': 'status_aanlevering_invalid', 'detail': rmj_reject_detail('status_aanlevering', m.status_aanlevering)}
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
    coalesce(agb_code, aanbieder_agb) as aanbieder_agb,
    municipality.gemeentecode as gemeentecode,
    municipality.subregio as subregio,
    toewijzing_number as toewijzingnummer,
    geboortejaarmaand,
    leeftijd,
    nullif(trim(productcategorie), '') as productcategorie,
    nullif(trim(productcode), '') as productcode,
    begindatum_date as begindatum,
    einddatum_date as einddatum,
    reden_code as reden_beeindiging,
    try_cast(status_number as integer) as status_aanlevering,
    rejection.reason as reject_reason,
    rejection.detail as reject_detail
from checked
