-- Macros shared by every model; created as temporary macros on each warehouse connection.
-- Date formats accepted by the delivery contract: YYYY-MM-DD, YYYYMMDD, DD-MM-YYYY.
create or replace temp macro rmj_date(s) as
    try_strptime(trim(s), ['%Y-%m-%d', '%Y%m%d', '%d-%m-%Y'])::date;

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
