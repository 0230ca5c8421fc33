-- Goal-attainment rows (GAS), typed: one row per goal per measurement, with the first reason it is rejected for.
-- group: models
-- grain: delivery_id, source_row
-- incremental: delivery_id
-- One reason per row, the first failing check in the order of ref.reject_reasons (reject_reasons.csv);
-- reject_detail names the column and the class of problem (gas_score: out of range), never the value. The
-- fields come typed from the TTP step, which holds the value rules of delivery contract v1 (field_types.csv):
-- trajecttype one of trajecttypen.csv; doel_nr a positive whole number; gas_score a whole number
-- gas_score_min..gas_score_max (a plus sign is fine); gewicht a positive number, decimal comma allowed, empty = 1;
-- probleemafname probleemafname_min..max or empty (parameters.csv); a value not of its type is NULL and
-- named in field_problems. Municipalities are judged on meetdatum (0370 Beemster until its valid_until,
-- reported as 0439).
-- A measurement is (delivery, provider, pseudonym, toewijzingnummer, meetdatum); rows of an unknown BSN
-- (no pseudonym) of one delivery with the same provider, toewijzingnummer and meetdatum form one
-- measurement. When the rows of a measurement that pass every row check carry different probleemafname
-- scores, all of those rows are rejected as probleemafname_inconsistent.
-- exact_duplicate is the last check, as in the codebook: a copy of a row that fails another check carries
-- that reason; only copies of otherwise good rows are reported as exact_duplicate (the first is kept).
with delivered_rows as not materialized (  -- noqa: ST03
    -- read by rmj_row_copies('delivered_rows') below, by name: sqlfluff does not see it read
    -- not materialized: rmj_row_copies reads it three times, and scanning its table each time costs less than
    -- a copy of every delivered row (2.7 -> 2.3 s CPU on the national goal rows; a per-delivery build of four
    -- deliveries 0.23 -> 0.17 s)
    select *
    from pseudo.goals
    where $delivery_ids is null or list_contains($delivery_ids, delivery_id)  -- this run's deliveries
),

typed as (
    select
        r.*,
        d.received_at,
        case
            when r.gewicht is null and rmj_field_problems(r.field_problems, ['gewicht']) is null then 1.0
            else r.gewicht
        end as gewicht_number
    from rmj_row_copies('delivered_rows') as r  -- each with its row_copy
    left join audit.deliveries as d on d.delivery_id = r.delivery_id
),

municipality_lookup as (
    select t.*, rmj_municipality(t.gemeentecode, t.meetdatum, g, reg) as municipality  -- noqa: RF02
    from typed as t
    left join ref.gemeenten as g on g.gemeentecode = t.gemeentecode
    left join ref.region as reg on reg.gemeentecode = t.gemeentecode
),

-- materialized: read by both steps below; inlined, every row's checks were evaluated twice
row_checks as materialized (
    select
        m.*,
        coalesce(
            rmj_delivery_rejection(
                m.id_status, m.identifier_in_field, m.field_problems, m.aanbieder_agb, m.municipality, m.toewijzingnummer
            ),
            case
                when m.meetdatum is null
                    then {'reason': 'date_invalid', 'detail': 'meetdatum'}
                when m.meetdatum > current_date
                    then {'reason': 'date_in_future', 'detail': 'meetdatum'}
                when m.trajecttype is null
                    then {'reason': 'trajecttype_unknown', 'detail': rmj_field_detail(m.field_problems, 'trajecttype')}
                when m.doel_nr is null
                    then {'reason': 'doel_nr_invalid', 'detail': rmj_field_detail(m.field_problems, 'doel_nr')}
                when m.gas_score is null
                    then {'reason': 'gas_score_out_of_range', 'detail': rmj_field_detail(m.field_problems, 'gas_score')}
                when m.gewicht_number is null
                    then {'reason': 'gewicht_invalid', 'detail': rmj_field_detail(m.field_problems, 'gewicht')}
                when rmj_field_problems(m.field_problems, ['probleemafname']) is not null
                    then {'reason': 'probleemafname_out_of_range', 'detail': rmj_field_problems(m.field_problems, ['probleemafname'])}
            end
        ) as row_rejection
    from municipality_lookup as m
),

-- The measurements whose rows that pass every row check carry different scores (few), grouped from those
-- rows alone and joined back: a window over the measurement carried every column of every row through its
-- sort (2.8 s of the model's 3.3 s on the national goal rows). Grouped by the measurement's hash first (a
-- number, not its five columns with a 64-character pseudonym); only the rows of hashes with different scores
-- are grouped by the measurement itself, so a collision never makes a measurement inconsistent.
inconsistent_hashes as (
    select hash(delivery_id, aanbieder_agb, pseudoniem, toewijzingnummer, meetdatum) as measurement_hash
    from row_checks
    where row_rejection is null
    group by measurement_hash
    having min(probleemafname) <> max(probleemafname)
),

inconsistent_measurements as (
    select
        delivery_id, aanbieder_agb, pseudoniem, toewijzingnummer, meetdatum,
        min(probleemafname) as lowest_score,
        max(probleemafname) as highest_score
    from row_checks
    where row_rejection is null
        and hash(delivery_id, aanbieder_agb, pseudoniem, toewijzingnummer, meetdatum)
        in (select h.measurement_hash from inconsistent_hashes as h)
    group by delivery_id, aanbieder_agb, pseudoniem, toewijzingnummer, meetdatum
    having min(probleemafname) <> max(probleemafname)
),

checked as (
    select
        r.*,
        coalesce(
            r.row_rejection,
            case
                when i.lowest_score is not null
                    then {'reason': 'probleemafname_inconsistent',
                          'detail': 'probleemafname from ' || i.lowest_score || ' to ' || i.highest_score}
            end,
            rmj_exact_duplicate(r.row_copy)
        ) as rejection
    from row_checks as r
    -- not distinct: a measurement's key may hold NULLs (pseudoniem of an unknown BSN), grouped as one
    left join inconsistent_measurements as i
        on i.delivery_id is not distinct from r.delivery_id
        and i.aanbieder_agb is not distinct from r.aanbieder_agb
        and i.pseudoniem is not distinct from r.pseudoniem
        and i.toewijzingnummer is not distinct from r.toewijzingnummer
        and i.meetdatum is not distinct from r.meetdatum
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
    trajecttype,
    meetdatum,
    doel_nr,
    gas_score,
    gewicht_number as gewicht,
    probleemafname,
    rejection.reason as reject_reason,
    rejection.detail as reject_detail
from checked
