-- The yearly CEO indicators as they may be published: small cells suppressed, compared with last year.
-- partition: year
-- group: ceo
-- grain: year, area_type, area_code, respondent_group, care_type, indicator
-- history: audit.published_figures
-- Suppression (outputs.md, "Small-cell suppression"), per year x indicator:
-- 1. a figure whose n (denominator) is below suppression_min_n is suppressed;
-- 2. complementary: every published total is the sum of its breakdown, which makes an equation
--      total = cell_1 + ... + cell_k
--    along three dimensions: area (the municipalities of a sub-region, the sub-regions of the region, the
--    providers of the region), respondent group (OUDERS + JONGEREN = ALL) and care type (EINDE + DUURZAAM
--    = ALL). An equation with exactly one hidden figure gives that figure away by subtraction (or, for a
--    hidden total, by addition). So while some equation has exactly one hidden figure, its smallest shown
--    cell (by n, ties by area code; the total only when every cell is hidden) is suppressed too. Hiding
--    only ever grows, so this ends; it runs inside DuckDB as a recursive CTE whose state is keyed by cell.
--    Crossing the dimensions matters: without the respondent-group equation a hidden JONGEREN figure is
--    ALL minus OUDERS.
-- 3. what no single equation gives away, several together still can (the providers and the
--    municipalities are two breakdowns of the same region): all equations of a table are solved at
--    once and more is hidden until no hidden figure can be worked out (the closure CTE below);
-- 4. nothing derivable under suppression_min_n: a total minus its shown cells is the sum of its hidden
--    cells, and a shown percentage with its interval gives its exact n away (rounding n hides nothing).
--    The same closure takes every shown n as known and hides the smallest shown figure of a breakdown
--    until no group of hidden figures can be shown to hold 1 to suppression_min_n - 1 people.
-- 5. nothing derivable across versions: a year published again is compared with every earlier version
--    of it (audit.published_figures, exact n; the year before too, as prev_* shows it). A figure shown
--    then whose n now differs by 1 to suppression_min_n - 1 gives those people away: it starts hidden,
--    as a small one does, and the steps above follow. The closure also gets each figure's n in every
--    earlier version and hides more while a breakdown's group of cells has a sum known then and now that
--    differs by 1 to suppression_min_n - 1. (The earlier publications are history, not an upstream: the
--    history header keeps them out of the asset graph, which would otherwise be a cycle.)
-- A suppressed row keeps no n, value or interval; the numerator never leaves this model. Values stay
-- unrounded here; rounding happens where a file is written. Last year's figure (prev_*) comes through the
-- same suppression and is NULL when it was suppressed or missing; ci_overlap_prev tells whether both
-- years' intervals overlap (NULL when either is not shown or has no interval).
with recursive compared_years as (  -- noqa: PRS
    select
        *,
        row_number() over (
            order by year, indicator, area_type, area_code, respondent_group, care_type
        ) as cell_id
    from marts.indicator_base
    where period = $period  -- the year and the year before (indicator_base)
),

-- Every earlier version of the two years, numbered per year; n is NULL where it was suppressed.
earlier_versions as (
    select
        year, area_type, area_code, respondent_group, care_type, indicator, n,
        dense_rank() over (partition by year order by recorded_at, publication_id) as version
    from audit.published_figures
    where year in (cast($period as integer), cast($period as integer) - 1)
),

-- 5. shown in an earlier version with an n that differs by 1 to suppression_min_n - 1 from today's
changed_a_little as (
    select distinct c.cell_id
    from compared_years as c
    inner join earlier_versions as e
        using (year, area_type, area_code, respondent_group, care_type, indicator)
    where abs(c.n - e.n) between 1 and rmj_param('suppression_min_n') - 1
),

-- each cell's n in every earlier version of its year, in version order: NULL where it was suppressed, 0
-- where it was not published (no one in it then)
earlier_n as (
    select
        c.cell_id,
        list(case when e.year is null then 0 else e.n end order by v.version) as earlier
    from compared_years as c
    inner join (select distinct year, version from earlier_versions) as v on v.year = c.year
    left join earlier_versions as e
        on e.version = v.version
        and e.year = c.year
        and e.area_type = c.area_type
        and e.area_code = c.area_code
        and e.respondent_group = c.respondent_group
        and e.care_type = c.care_type
        and e.indicator = c.indicator
    group by c.cell_id
),

-- Each cell as member of the equations it belongs to, one row per (equation, cell); the total of an
-- equation is the cell whose key it names. The sub-regions and the providers both add up to the region,
-- in two separate equations: the dimension names the member's area type.
memberships as (
    select cell_id, 'area:' || area_type as dimension, year, indicator,
        case area_type when 'gemeente' then 'subregio' else 'regio' end as total_area_type,
        case area_type when 'gemeente' then parent_code else 'RMJ' end as total_area_code,
        respondent_group as total_group, care_type as total_care
    from compared_years
    where area_type in ('gemeente', 'subregio', 'aanbieder')

    union all
    select cell_id, 'respondent_group', year, indicator, area_type, area_code, 'ALL', care_type
    from compared_years
    where respondent_group <> 'ALL'

    union all
    select cell_id, 'care_type', year, indicator, area_type, area_code, respondent_group, 'ALL'
    from compared_years
    where care_type <> 'ALL'
),

-- One row per equation and figure in it: its cells and, where it is published, its total. A breakdown
-- whose total is not published still counts as an equation (the total may be known from elsewhere), so
-- one hidden cell among two or more shown ones is never left alone.
equations as (
    select
        dense_rank() over (
            order by m.dimension, m.year, m.indicator, m.total_area_type, m.total_area_code, m.total_group,
                m.total_care
        ) as equation_id,
        m.cell_id,
        t.cell_id as total_cell_id
    from memberships as m
    left join compared_years as t
        on t.year = m.year
        and t.indicator = m.indicator
        and t.area_type = m.total_area_type
        and t.area_code = m.total_area_code
        and t.respondent_group = m.total_group
        and t.care_type = m.total_care
),

-- a single cell without a published total adds up to nothing (response_rate has only EINDE)
usable_equations as (
    select * from equations
    qualify total_cell_id is not null or count(*) over (partition by equation_id) > 1
),

equation_figures as (
    select equation_id, cell_id, false as is_total from usable_equations
    union all
    select distinct equation_id, total_cell_id, true from usable_equations where total_cell_id is not null
),

suppression using key (cell_id) as (
    select
        cell_id, n, area_code,
        n < rmj_param('suppression_min_n') or cell_id in (select cell_id from changed_a_little) as is_suppressed
    from compared_years

    union

    (
        select distinct state.cell_id, state.n, state.area_code, true
        from (
            select
                f.equation_id,
                s.cell_id,
                s.n,
                s.area_code,
                s.is_suppressed,
                count(*) filter (where s.is_suppressed) over eq as hidden_in_equation,
                row_number() over (eq order by s.is_suppressed, f.is_total, s.n, s.area_code) as pick
            from equation_figures as f
            inner join recurring.suppression as s on s.cell_id = f.cell_id
            window eq as (partition by f.equation_id)
        ) as state
        where state.hidden_in_equation = 1 and not state.is_suppressed and state.pick = 1
    )
),

-- 3. crossing breakdowns: equations with two unknowns each can still pin a figure down together (the
--    providers and the municipalities both add up to the region). rmj_close_disclosure (Python, numpy:
--    rmj_dagster/privacy/disclosure.py) solves each table's equations at once and hides the smallest shown figure
--    around every figure that can still be worked out, until none can. One call per year x indicator.
closure as (
    select unnest(rmj_close_disclosure(list({
        'equation_id': f.equation_id, 'cell_id': f.cell_id, 'is_total': f.is_total,
        'hidden': s.is_suppressed, 'n': c.n, 'area_code': c.area_code, 'earlier': coalesce(e.earlier, [])
    }))) as cell_id
    from equation_figures as f
    inner join suppression as s on s.cell_id = f.cell_id
    inner join compared_years as c on c.cell_id = f.cell_id
    left join earlier_n as e on e.cell_id = f.cell_id
    group by c.year, c.indicator
),

final_suppression as (
    select cell_id, is_suppressed or cell_id in (select cell_id from closure) as is_suppressed
    from suppression
),

published as (
    select
        year, area_type, area_code, area_name, respondent_group, care_type, indicator,
        case when not is_suppressed then n end as n,
        case when not is_suppressed then value end as value,
        case when not is_suppressed then ci_low end as ci_low,
        case when not is_suppressed then ci_high end as ci_high,
        is_suppressed as suppressed
    from compared_years
    inner join final_suppression using (cell_id)
)

select
    $period as period,
    cur.year,
    cur.area_type,
    cur.area_code,
    cur.area_name,
    cur.respondent_group,
    cur.care_type,
    cur.indicator,
    cur.n,
    cur.value,
    cur.ci_low,
    cur.ci_high,
    cur.suppressed,
    prev.value as prev_value,
    prev.ci_low as prev_ci_low,
    prev.ci_high as prev_ci_high,
    case
        when cur.ci_low is not null and cur.ci_high is not null
            and prev.ci_low is not null and prev.ci_high is not null
            then cur.ci_low <= prev.ci_high and prev.ci_low <= cur.ci_high
    end as ci_overlap_prev
from published as cur
left join published as prev
    on prev.year = cur.year - 1
    and prev.area_type = cur.area_type
    and prev.area_code = cur.area_code
    and prev.respondent_group = cur.respondent_group
    and prev.care_type = cur.care_type
    and prev.indicator = cur.indicator
where cur.year = cast($period as integer)
