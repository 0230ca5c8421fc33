-- Stop-zorg records (JW307 messages and CSV), typed: every delivered row once, with the first reject reason.
-- group: clean
-- reden_beeindiging is checked against ref.reden_beeindiging (iJw JZ588). A delete (status 3) needs only
-- its key (provider, toewijzingnummer, begindatum): its end date and reason are not checked.
with source as (
    select r.*, d.received_at
    from pseudo.stop_zorg as r
    inner join audit.deliveries as d on d.delivery_id = r.delivery_id
),

typed as (
    select
        *,
        rmj_gemeentecode(gemeentecode) as gemeentecode4,
        rmj_date(begindatum) as begindatum_date,
        rmj_date(einddatum) as einddatum_date,
        coalesce(nullif(trim(status_aanlevering), ''), '1') as status_code,
        lpad(trim(reden_beeindiging), 2, '0') as reden_code,
        row_number() over (
            partition by delivery_id, aanbieder_agb, pseudoniem, id_status, gemeentecode, toewijzingnummer,
                geboortejaarmaand, productcategorie, productcode, begindatum, einddatum, reden_beeindiging,
                status_aanlevering
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
        and (r.valid_until is null or coalesce(t.einddatum_date, t.begindatum_date) <= try_cast(r.valid_until as date))
),

flagged as (
    select
        t.*,
        m.reported_as,
        m.subregio,
        rb.cbs_categorie,
        rb.counts_as_end,
        rb.is_uitval,
        case
            when t.id_status not in ('ok', 'unknown') then t.id_status
            when not coalesce(regexp_full_match(t.aanbieder_agb, '[0-9]{8}'), false) then 'agb_invalid'
            when not m.known then 'gemeentecode_unknown'
            when not m.in_region then 'gemeentecode_out_of_region'
            when not coalesce(regexp_full_match(t.toewijzingnummer, '[0-9]{1,9}'), false) then 'toewijzingnummer_invalid'
            when t.geboortejaarmaand is null and t.status_code <> '3' then 'birthdate_invalid'
            when t.begindatum_date is null then 'date_invalid'
            when t.einddatum_date is null and t.status_code <> '3' then 'date_invalid'
            when t.begindatum_date > current_date or t.einddatum_date > current_date then 'date_in_future'
            when t.voor_geboorte and t.status_code <> '3' then 'date_before_birth'
            when t.einddatum_date < t.begindatum_date and t.status_code <> '3' then 'end_before_begin'
            when rb.reden_beeindiging is null and t.status_code <> '3' then 'reden_beeindiging_unknown'
            when t.status_code not in ('1', '2', '3') then 'status_aanlevering_invalid'
            when t.copy_number > 1 then 'exact_duplicate'
        end as reject_reason
    from typed as t
    inner join municipality as m on m.delivery_id = t.delivery_id and m.source_row = t.source_row
    left join ref.reden_beeindiging as rb on rb.reden_beeindiging = t.reden_code
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
    reported_as as gemeentecode,
    subregio,
    try_cast(toewijzingnummer as bigint) as toewijzingnummer,
    productcategorie,
    productcode,
    begindatum_date as begindatum,
    einddatum_date as einddatum,
    reden_code as reden_beeindiging,
    cbs_categorie,
    counts_as_end,
    is_uitval,
    try_cast(status_code as integer) as status_aanlevering,
    reject_reason,
    case
        when reject_reason in ('date_invalid', 'date_in_future')
            then case
                when begindatum_date is null or begindatum_date > current_date then 'begindatum'
                else 'einddatum'
            end
        when reject_reason = 'reden_beeindiging_unknown' then 'reden_beeindiging=' || coalesce(reden_code, '')
    end as reject_detail
from flagged
