-- Goal-attainment rows (GAS), typed: one row per goal per measurement, with the first reason it is rejected for.
-- group: clean
-- grain: delivery_id, source_row
-- incremental: delivery_id
-- One reason per row, the first failing check in the order of ref.reject_reasons (reject_reasons.csv);
-- reject_detail names the column and, where harmless, the value (gas_score=3). Value rules of delivery
-- contract v1: trajecttype one of ref.trajecttypen; doel_nr a positive whole number; gas_score a
-- whole number gas_score_min..gas_score_max (a plus sign is fine); gewicht a positive number, decimal comma allowed, empty = 1;
-- probleemafname probleemafname_min..max or empty (ref.parameters). Municipalities are judged on meetdatum (0370 Beemster until its valid_until,
-- reported as 0439).
-- A measurement is (delivery, provider, pseudonym, toewijzingnummer, meetdatum); rows of an unknown BSN
-- (no pseudonym) of one delivery with the same provider, toewijzingnummer and meetdatum form one
-- measurement. When the rows of a measurement that pass every row check carry different probleemafname
-- scores, all of those rows are rejected as probleemafname_inconsistent.
-- exact_duplicate is the last check, as in the codebook: a copy of a row that fails another check carries
-- that reason; only copies of otherwise good rows are reported as exact_duplicate (the first is kept).
with delivered_rows as (
    select *, rmj_row_copy(struct_pack(*columns(* exclude (source_row))), source_row) as row_copy
    from pseudo.goals
    where $delivery_ids is null or list_contains($delivery_ids, delivery_id)  -- this run's deliveries
),

typed as (
    select
        r.*,
        d.received_at,
        rmj_agb(r.aanbieder_agb) as agb_code,
        rmj_gemeentecode(r.gemeentecode) as gemeente_code,
        rmj_toewijzingnummer(r.toewijzingnummer) as toewijzing_number,
        rmj_date(r.meetdatum) as meetdatum_date,
        upper(trim(r.trajecttype)) as trajecttype_code,
        rmj_whole_number(r.doel_nr) as doel_number,
        rmj_whole_number(r.gas_score) as gas_score_number,
        case
            when nullif(trim(r.gewicht), '') is null then 1.0
            else rmj_decimal(r.gewicht)
        end as gewicht_number,
        rmj_whole_number(r.probleemafname) as probleemafname_number
    from delivered_rows as r
    left join audit.deliveries as d on d.delivery_id = r.delivery_id
),

municipality_lookup as (
    select t.*, rmj_municipality(t.gemeente_code, t.meetdatum_date, g, reg) as municipality  -- noqa: RF02
    from typed as t
    left join ref.gemeenten as g on g.gemeentecode = t.gemeente_code
    left join ref.region as reg on reg.gemeentecode = t.gemeente_code
),

row_checks as (
    select
        m.*,
        coalesce(
            rmj_delivery_rejection(
                m.id_status, m.identifier_in_field, m.aanbieder_agb, m.gemeentecode, m.municipality, m.toewijzingnummer
            ),
            case
                when m.meetdatum_date is null
                    then {'reason': 'date_invalid', 'detail': 'meetdatum'}
                when m.meetdatum_date > current_date
                    then {'reason': 'date_in_future', 'detail': 'meetdatum'}
                when m.trajecttype_code is null or m.trajecttype_code not in (select t.trajecttype from ref.trajecttypen as t)
                    then {'reason': 'trajecttype_unknown', 'detail': rmj_reject_detail('trajecttype', m.trajecttype)}
                when m.doel_number is null or m.doel_number < 1 or m.doel_number > 2147483647
                    then {'reason': 'doel_nr_invalid', 'detail': rmj_reject_detail('doel_nr', m.doel_nr)}
                when m.gas_score_number is null
                    or m.gas_score_number not between rmj_param('gas_score_min') and rmj_param('gas_score_max')
                    then {'reason': 'gas_score_out_of_range', 'detail': rmj_reject_detail('gas_score', m.gas_score)}
                when m.gewicht_number is null or m.gewicht_number <= 0
                    then {'reason': 'gewicht_invalid', 'detail': rmj_reject_detail('gewicht', m.gewicht)}
                when nullif(trim(m.probleemafname), '') is not null
                    and coalesce(m.probleemafname_number
                        not between rmj_param('probleemafname_min') and rmj_param('probleemafname_max'), true)
                    then {'reason': 'probleemafname_out_of_range', 'detail': rmj_reject_detail('probleemafname', m.probleemafname)}
            end
        ) as row_rejection
    from municipality_lookup as m
),

measurement_scores as (
    select
        *,
        min(case when row_rejection is null then probleemafname_number end) over measurement as lowest_score,
        max(case when row_rejection is null then probleemafname_number end) over measurement as highest_score
    from row_checks
    window measurement as (partition by delivery_id, agb_code, pseudoniem, toewijzing_number, meetdatum_date)
),

checked as (
    select
        *,
        coalesce(
            row_rejection,
            case
                when lowest_score <> highest_score
                    then {'reason': 'probleemafname_inconsistent',
                          'detail': 'probleemafname from ' || lowest_score || ' to ' || highest_score}
            end,
            rmj_exact_duplicate(row_copy)
        ) as rejection
    from measurement_scores
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
    trajecttype_code as trajecttype,
    meetdatum_date as meetdatum,
    try_cast(doel_number as integer) as doel_nr,
    try_cast(gas_score_number as integer) as gas_score,
    gewicht_number as gewicht,
    try_cast(probleemafname_number as integer) as probleemafname,
    rejection.reason as reject_reason,
    rejection.detail as reject_detail
from checked
