-- Goal-attainment rows (GAS), typed: one row per goal per measurement, with the first reject reason.
-- group: clean
-- A measurement is (delivery, provider, pseudonym, toewijzingnummer, meetdatum). Its rows must agree on
-- probleemafname: when rows that pass every other check disagree, all of them are rejected.
-- gewicht may use a decimal comma; empty means 1. gas_score may carry a plus sign.
with source as (
    select r.*, d.received_at
    from pseudo.doelrealisatie as r
    inner join audit.deliveries as d on d.delivery_id = r.delivery_id
),

typed as (
    select
        *,
        rmj_gemeentecode(gemeentecode) as gemeentecode4,
        rmj_date(meetdatum) as meetdatum_date,
        upper(trim(trajecttype)) as trajecttype_code,
        try_cast(trim(doel_nr) as integer) as doel_nr_int,
        try_cast(ltrim(trim(gas_score), '+') as integer) as gas_score_int,
        coalesce(try_cast(replace(nullif(trim(gewicht), ''), ',', '.') as double), case when nullif(trim(gewicht), '') is null then 1.0 end) as gewicht_num,
        try_cast(nullif(trim(probleemafname), '') as integer) as probleemafname_int,
        row_number() over (
            partition by delivery_id, aanbieder_agb, pseudoniem, id_status, gemeentecode, toewijzingnummer,
                trajecttype, meetdatum, doel_nr, gas_score, gewicht, probleemafname
            order by source_row
        ) as copy_number
    from source
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
        and (r.valid_until is null or t.meetdatum_date <= try_cast(r.valid_until as date))
),

row_checks as (
    select
        t.*,
        m.reported_as,
        m.subregio,
        case
            when t.id_status not in ('ok', 'unknown') then t.id_status
            when not coalesce(regexp_full_match(t.aanbieder_agb, '[0-9]{8}'), false) then 'agb_invalid'
            when not m.known then 'gemeentecode_unknown'
            when not m.in_region then 'gemeentecode_out_of_region'
            when not coalesce(regexp_full_match(t.toewijzingnummer, '[0-9]{1,9}'), false) then 'toewijzingnummer_invalid'
            when t.meetdatum_date is null then 'date_invalid'
            when t.meetdatum_date > current_date then 'date_in_future'
            when t.trajecttype_code not in ('PERSPECTIEF', 'INTENSIEF', 'DUURZAAM') or t.trajecttype_code is null then 'trajecttype_unknown'
            when t.doel_nr_int is null or t.doel_nr_int < 1 then 'doel_nr_invalid'
            when t.gas_score_int is null or t.gas_score_int not between -2 and 2 then 'gas_score_out_of_range'
            when t.gewicht_num is null or t.gewicht_num <= 0 then 'gewicht_invalid'
            when nullif(trim(t.probleemafname), '') is not null and coalesce(t.probleemafname_int not between 1 and 3, true)
                then 'probleemafname_out_of_range'
        end as row_reason
    from typed as t
    inner join municipality as m on m.delivery_id = t.delivery_id and m.source_row = t.source_row
),

measurement_agreement as (
    select
        delivery_id, aanbieder_agb, pseudoniem, toewijzingnummer, meetdatum_date,
        count(distinct probleemafname_int) > 1 as disagrees
    from row_checks
    where row_reason is null
    group by all
)

select
    r.delivery_id,
    r.source_row,
    r.received_at,
    r.key_label,
    r.id_status,
    r.pseudoniem,
    r.aanbieder_agb,
    r.reported_as as gemeentecode,
    r.subregio,
    try_cast(r.toewijzingnummer as bigint) as toewijzingnummer,
    r.trajecttype_code as trajecttype,
    r.meetdatum_date as meetdatum,
    r.doel_nr_int as doel_nr,
    r.gas_score_int as gas_score,
    r.gewicht_num as gewicht,
    r.probleemafname_int as probleemafname,
    coalesce(
        r.row_reason,
        case when a.disagrees then 'probleemafname_inconsistent' end,
        case when r.copy_number > 1 then 'exact_duplicate' end
    ) as reject_reason,
    case
        when r.row_reason in ('date_invalid', 'date_in_future') then 'meetdatum'
        when r.row_reason = 'gas_score_out_of_range' then 'gas_score=' || coalesce(r.gas_score, '')
    end as reject_detail
from row_checks as r
left join measurement_agreement as a
    on r.row_reason is null
    and a.delivery_id = r.delivery_id
    and a.aanbieder_agb = r.aanbieder_agb
    and a.pseudoniem is not distinct from r.pseudoniem
    and a.toewijzingnummer = r.toewijzingnummer
    and a.meetdatum_date = r.meetdatum_date
