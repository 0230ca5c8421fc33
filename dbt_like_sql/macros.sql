-- Macros shared by every model; created as temporary macros on each warehouse connection.
-- Date formats accepted by the delivery contract: YYYY-MM-DD, YYYYMMDD, DD-MM-YYYY. The year must have four
-- digits (strptime's %Y also takes '24' as the year 24: '20-06-24' is not a date, it is rejected).
create or replace temp macro rmj_date(s) as
    case
        when regexp_full_match(trim(s), '[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}|[0-9]{8}|[0-9]{1,2}-[0-9]{1,2}-[0-9]{4}')
            then try_strptime(trim(s), ['%Y-%m-%d', '%Y%m%d', '%d-%m-%Y'])::date
    end;

-- Birth dates may also be CBS-style YYYYMM00 (day unknown): read as the first of the month.
create or replace temp macro rmj_birth_date(s) as
    case
        when regexp_full_match(trim(s), '[0-9]{6}00')
            then try_strptime(substr(trim(s), 1, 6) || '01', '%Y%m%d')::date
        else rmj_date(s)
    end;

-- Municipality code: optional GM prefix, leading zeros restored; NULL when not 1-4 digits.
create or replace temp macro rmj_gemeentecode(s) as
    case
        when regexp_full_match(regexp_replace(upper(trim(s)), '^GM', ''), '[0-9]{1,4}')
            then lpad(regexp_replace(upper(trim(s)), '^GM', ''), 4, '0')
    end;

-- rmj_param(name) (a number from the codebook's parameters.csv) is created before this file is run,
-- from the CSV itself, so it needs no table and is the same in read-only connections.

-- Bounds of the 95% Wilson score interval of x/n, as proportions 0-1.
create or replace temp macro rmj_wilson_low(x, n) as
    case when n > 0 then
        ((x / n) + rmj_param('wilson_z') ^ 2 / (2 * n)
         - rmj_param('wilson_z') * sqrt((x / n) * (1 - x / n) / n + rmj_param('wilson_z') ^ 2 / (4 * n * n)))
        / (1 + rmj_param('wilson_z') ^ 2 / n)
    end;

create or replace temp macro rmj_wilson_high(x, n) as
    case when n > 0 then
        ((x / n) + rmj_param('wilson_z') ^ 2 / (2 * n)
         + rmj_param('wilson_z') * sqrt((x / n) * (1 - x / n) / n + rmj_param('wilson_z') ^ 2 / (4 * n * n)))
        / (1 + rmj_param('wilson_z') ^ 2 / n)
    end;

-- ---------------------------------------------------------------------------------------------------
-- Field rules of the delivery contract shared by the three staging models (one place for each rule).

-- A whole number as delivered: optional sign, digits only ('+1', '-2', '007'); NULL otherwise ('1.0', 'x').
create or replace temp macro rmj_whole_number(s) as
    case when regexp_full_match(trim(s), '[+-]?[0-9]{1,18}') then try_cast(trim(s) as bigint) end;

-- A decimal number with a decimal point or comma ('1.5', '1,5', '2'); NULL otherwise.
create or replace temp macro rmj_decimal(s) as
    case
        when regexp_full_match(trim(s), '[+-]?[0-9]{1,15}([.,][0-9]{1,15})?')
            then try_cast(replace(trim(s), ',', '.') as double)
    end;

-- A yes/no field: 1/0, ja/nee, j/n, true/false, yes/no (any case); NULL when empty or anything else.
create or replace temp macro rmj_boolean(s) as
    case
        when lower(trim(s)) in ('1', 'ja', 'j', 'true', 'yes') then true
        when lower(trim(s)) in ('0', 'nee', 'n', 'false', 'no') then false
    end;

-- status_aanlevering of a start or stop record as a number (1 new, 2 correction, 3 delete); empty = 1.
-- NULL when not a whole number; the model rejects anything but 1, 2 or 3.
create or replace temp macro rmj_status_aanlevering(s) as
    case when nullif(trim(s), '') is null then 1 else rmj_whole_number(s) end;

-- Provider AGB code: exactly 8 digits, else NULL.
create or replace temp macro rmj_agb(s) as
    case when regexp_full_match(trim(s), '[0-9]{8}') then trim(s) end;

-- toewijzingnummer (iJw LDT_Nummer): a whole number 0-999999999, else NULL.
create or replace temp macro rmj_toewijzingnummer(s) as
    case when regexp_full_match(trim(s), '[0-9]{1,18}') and try_cast(trim(s) as bigint) <= 999999999
        then try_cast(trim(s) as bigint) end;

-- Whether a code-list entry with optional valid_from / valid_until (text dates, NULL = open) holds on day d.
-- An unknown day (NULL) is not held against the entry: the date check reports that row instead.
create or replace temp macro rmj_valid_on(d, valid_from, valid_until) as
    d is null
    or ((valid_from is null or d >= try_cast(valid_from as date))
        and (valid_until is null or d <= try_cast(valid_until as date)));

-- The problems the TTP step found in some delivered fields (field_problems: 'column:class', comma-separated,
-- e.g. 'q05:not_an_answer_code,invuldatum:not_a_date'), as reject_detail names them: the column and the
-- class of problem ('q05: not an answer code'), never the delivered value (which is stored nowhere).
-- NULL when none of columns has a problem.
create or replace temp macro rmj_field_problems(field_problems, columns) as
    nullif(array_to_string(list_transform(
        list_filter(string_split(coalesce(field_problems, ''), ','), lambda p: list_contains(columns, split_part(p, ':', 1))),
        lambda p: split_part(p, ':', 1) || ': ' || replace(split_part(p, ':', 2), '_', ' ')
    ), ', '), '');

-- reject_detail of one field without a usable value: its problem, or 'missing' when nothing was delivered.
create or replace temp macro rmj_field_detail(field_problems, column_name) as
    coalesce(rmj_field_problems(field_problems, [column_name]), column_name || ': missing');

-- Age in completed years on a day (negative when the day lies before birth).
create or replace temp macro rmj_age(birth, day) as
    date_diff('year', birth, day) - case when strftime(day, '%m%d') < strftime(birth, '%m%d') then 1 else 0 end;

-- The latest possible birth date: for CBS-style YYYYMM00 (day unknown) the last day of the month.
create or replace temp macro rmj_birth_date_latest(s) as
    case
        when regexp_full_match(trim(s), '[0-9]{6}00') then last_day(rmj_birth_date(s))
        else rmj_birth_date(s)
    end;

-- ---------------------------------------------------------------------------------------------------
-- What every staging model does alike with a delivered row (one place for each step); the models still
-- name the tables they read (pseudo.*, audit.deliveries, ref.gemeenten, ref.region), so the loader reads
-- their dependencies from the model's own SQL.

-- Copies: rows equal in every column but source_row (so within one delivery); the first in file order is
-- the original (number 1), every later one a copy (number 2). rmj_row_copies('cte') gives the rows of the
-- CTE or table named (delivered rows: one per delivery_id + source_row) each with its row_copy. Only rows
-- whose content hash (the row without source_row) is held by another row can have a copy: those few are
-- grouped by their content itself, so a hash collision never makes two different rows copies. Grouping
-- every row by its whole content cost the goal staging 2.2 of its 4.4 s CPU on the national rows (and
-- partitioned by the content alone it ran out of DuckDB's 1 GB at twice the national goal rows).
create or replace temp macro rmj_row_copies(delivered) as table
    with hashed as (
        select *, hash(struct_pack(*columns(* exclude (source_row)))) as content_hash
        from query_table(delivered)
    ),

    repeated_hashes as (
        select content_hash
        from hashed
        group by content_hash
        having count(*) > 1
    ),

    copies as (
        select
            h.delivery_id,
            h.source_row,
            min(h.source_row) over (
                partition by h.content_hash, struct_pack(*columns(* exclude (source_row, content_hash)))
            ) as original_row
        from hashed as h
        where h.content_hash in (select r.content_hash from repeated_hashes as r)
    )

    -- the columns of the rows given (so no fixed count: AM04), and row_copy
    select
        h.* exclude (content_hash),  -- noqa: AM04, RF02
        {
            'number': case when c.original_row < h.source_row then 2 else 1 end,
            'original_row': coalesce(c.original_row, h.source_row)
        } as row_copy
    from hashed as h
    left join copies as c on c.delivery_id = h.delivery_id and c.source_row = h.source_row;

-- Whether the row's ref.region entry (region: its join to ref.region) holds on day d: 0370 Beemster counts
-- until its valid_until.
create or replace temp macro rmj_in_region(d, region) as
    region.gemeentecode is not null and rmj_valid_on(d, region.valid_from, region.valid_until);

-- The municipality of a row (code: rmj_gemeentecode) judged on day d, from its joins to ref.gemeenten (cbs)
-- and ref.region (region): known (in the CBS list or in the region), in_region, and as reported
-- (gemeentecode as reported_as, 0370 as 0439; subregio only in the region). The models pass the joined rows
-- whole (g, reg), which sqlfluff takes for unqualified columns: hence their noqa: RF02.
create or replace temp macro rmj_municipality(code, d, cbs, region) as {
    'code': code,
    'known': cbs.gemeentecode is not null or rmj_in_region(d, region),
    'in_region': rmj_in_region(d, region),
    'gemeentecode': case when rmj_in_region(d, region) then region.reported_as else code end,
    'subregio': case when rmj_in_region(d, region) then region.subregio end
};

-- The first checks of every kind, in the order of ref.reject_reasons: the rejection of the first that
-- fails, NULL when all pass (each model goes on with coalesce(rmj_delivery_rejection(...), its own checks)).
-- Field values are as the TTP step typed them (NULL when missing or not of their type, field_problems says
-- which); municipality is rmj_municipality(...).
create or replace temp macro rmj_delivery_rejection(
    id_status, identifier_in_field, field_problems, aanbieder_agb, municipality, toewijzingnummer
) as
    case
        -- identity_missing, bsn_invalid_format, bsn_elfproef, pseudoniem_invalid: judged by the TTP step
        when id_status not in ('ok', 'unknown')
            then {'reason': id_status, 'detail': null::varchar}
        when identifier_in_field is not null
            then {'reason': 'identifier_in_field', 'detail': identifier_in_field}
        when aanbieder_agb is null
            then {'reason': 'agb_invalid', 'detail': rmj_field_detail(field_problems, 'aanbieder_agb')}
        when not municipality.known
            then {'reason': 'gemeentecode_unknown', 'detail': coalesce(
                rmj_field_problems(field_problems, ['gemeentecode']),
                'gemeentecode: ' || case when municipality.code is null then 'missing' else 'not a CBS municipality' end
            )}
        when not municipality.in_region
            then {'reason': 'gemeentecode_out_of_region', 'detail': 'gemeentecode: not in the region'}
        when toewijzingnummer is null
            then {'reason': 'toewijzingnummer_invalid', 'detail': rmj_field_detail(field_problems, 'toewijzingnummer')}
    end;

-- exact_duplicate, the last check of every kind: a later copy of an otherwise good row (row_copy from rmj_row_copies).
create or replace temp macro rmj_exact_duplicate(row_copy) as
    case
        when row_copy.number > 1
            then {'reason': 'exact_duplicate', 'detail': 'copy of row ' || row_copy.original_row}
    end;

-- ---------------------------------------------------------------------------------------------------
-- The areas of the CEO figures (indicator_base and figure_sources aggregate alike). level is
-- grouping(gemeentecode, subregio, aanbieder_agb) over the grouping sets ((gemeentecode, subregio),
-- (subregio), (aanbieder_agb), ()): 1 = municipality, 5 = sub-region, 6 = provider, 7 = the whole region.
create or replace temp macro rmj_area_type(level) as
    case level when 1 then 'gemeente' when 5 then 'subregio' when 6 then 'aanbieder' when 7 then 'regio' end;

create or replace temp macro rmj_area_code(level, gemeentecode, subregio, aanbieder_agb) as
    case level when 1 then gemeentecode when 5 then subregio when 6 then aanbieder_agb when 7 then 'RMJ' end;

-- The breakdown an area belongs to: a municipality's sub-region, the region, or all providers.
create or replace temp macro rmj_parent_code(level, subregio) as
    case level when 1 then subregio when 5 then 'RMJ' when 6 then 'AANBIEDERS' end;

-- A respondent group or care type of the cube; ALL where the row rolls it up (rolled_up = grouping(column)).
create or replace temp macro rmj_or_all(rolled_up, value) as
    case when rolled_up = 1 then 'ALL' else value end;

-- ---------------------------------------------------------------------------------------------------
-- Delivery order, latest first: received_at (unknown counts as oldest), then delivery_id, then source_row
-- within one delivery. rmj_latest_of_key('cte') gives, of the rows of the CTE or table named, the row that
-- decides among the rows of its record_key (a row of the key's columns, e.g. (aanbieder_agb,
-- toewijzingnummer, begindatum)): the latest in delivery order. A key held by one row only is decided
-- without a sort; only the rows whose key hash another row holds go through the window (exact: partitioned
-- by the key itself). Over every row the window carried all their columns through its sort.
create or replace temp macro rmj_latest_of_key(records) as table
    with hashed as (
        select *, hash(record_key) as key_hash
        from query_table(records)
    ),

    shared_hashes as (
        select key_hash
        from hashed
        group by key_hash
        having count(*) > 1
    )

    -- the columns of the rows given (so no fixed count: AM04)
    select h.* exclude (key_hash)  -- noqa: AM04, RF02
    from hashed as h
    where h.key_hash not in (select s.key_hash from shared_hashes as s)

    union all
    select l.* exclude (key_hash, recency)  -- noqa: AM04, RF02
    from (
        select
            h.*,
            row_number() over (
                partition by h.record_key
                order by h.received_at desc nulls last, h.delivery_id desc, h.source_row desc
            ) as recency
        from hashed as h
        where h.key_hash in (select s.key_hash from shared_hashes as s)
    ) as l
    where l.recency = 1;

-- The source rows of the observations, numbered within their provider + toewijzingnummer: rmj_numbered_per_key('cte')
-- gives the rows of the CTE named, each with source_nr, its number among its key's rows in the order of its
-- number_order (a struct of the ordering columns: ordered field by field, NULLs last, as the columns would be).
-- A key held by one row only is number 1 without a sort; only the rows of keys held by more than one go
-- through the window (a window over every source row carried all its columns through the sort).
create or replace temp macro rmj_numbered_per_key(numbered) as table
    with shared_keys as (
        select aanbieder_agb, toewijzingnummer
        from query_table(numbered)
        group by aanbieder_agb, toewijzingnummer
        having count(*) > 1
    )

    -- the columns of the rows given (so no fixed count: AM04)
    select
        r.* exclude (number_order),  -- noqa: AM04, RF02
        1 as source_nr
    from query_table(numbered) as r
    where not exists (
        select 1 from shared_keys as k
        where k.aanbieder_agb is not distinct from r.aanbieder_agb and k.toewijzingnummer is not distinct from r.toewijzingnummer
    )

    union all
    select
        r.* exclude (number_order),  -- noqa: AM04, RF02
        row_number() over (partition by r.aanbieder_agb, r.toewijzingnummer order by r.number_order) as source_nr
    from query_table(numbered) as r
    where exists (
        select 1 from shared_keys as k
        where k.aanbieder_agb is not distinct from r.aanbieder_agb and k.toewijzingnummer is not distinct from r.toewijzingnummer
    );

-- ---------------------------------------------------------------------------------------------------
-- A figure as published (indicators.csv, and every file and message that shows a published figure): the one
-- place of the publication's rounding. The warehouse keeps the unrounded values.
-- A count (n, and the value of a count indicator): to the nearest multiple of count_rounding_base.
create or replace temp macro rmj_published_count(n) as
    cast(round(n / rmj_param('count_rounding_base')) * rmj_param('count_rounding_base') as bigint);

-- A figure's value as text: a count indicator (n_responses, value = n) like n, percentages and means to one
-- decimal, always with that decimal ('50.0').
create or replace temp macro rmj_published_figure(indicator, value) as
    case
        when indicator in ('n_responses') then cast(rmj_published_count(value) as varchar)
        else cast(cast(round(value, 1) as decimal(18, 1)) as varchar)
    end;
