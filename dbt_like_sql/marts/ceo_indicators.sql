-- The yearly CEO indicators as they may be published: small cells suppressed, compared with last year.
-- partition: year
-- group: indicators
-- Suppression (outputs.md, "Small-cell suppression"), per year x indicator x respondent group x care type:
-- 1. a figure whose n (denominator) is below suppression_min_n is suppressed;
-- 2. complementary: within one breakdown (same area_type and parent_code: the municipalities of a
--    sub-region, the sub-regions of the region, the providers) where exactly one cell is suppressed, the
--    next smallest cell is suppressed too (smallest n among the shown cells, ties by area_code), so the
--    hidden one cannot be recovered by subtracting the others from the parent's total;
-- 3. the same purpose one level down: a municipality breakdown whose sub-region total was suppressed by
--    rule 2 while all its municipalities are shown loses its two smallest municipalities (or its only
--    one), or the total would be their sum. (Rule 1 never needs this: a total below the threshold has
--    every cell below it too.)
-- A suppressed row keeps no n, value or interval; the numerator never leaves this model. Values stay
-- unrounded here; rounding happens where a file is written. Last year's figure (prev_*) comes through the
-- same suppression and is NULL when it was suppressed or missing; ci_overlap_prev tells whether both
-- years' intervals overlap (NULL when either is not shown or has no interval).
with compared_years as (
    select *, n < rmj_param('suppression_min_n') as below_threshold
    from marts.indicator_base
    where year in (cast($period as integer), cast($period as integer) - 1)
),

ranked as (
    select
        *,
        count(*) filter (where below_threshold) over breakdown as below_in_breakdown,
        row_number() over (
            partition by year, indicator, respondent_group, care_type, area_type, parent_code, below_threshold
            order by n, area_code
        ) as size_rank,
        -- the cell whose total the breakdown adds up to
        case area_type when 'gemeente' then 'subregio' when 'subregio' then 'regio' when 'aanbieder' then 'regio' end
            as total_area_type,
        case area_type when 'gemeente' then parent_code when 'subregio' then 'RMJ' when 'aanbieder' then 'RMJ' end
            as total_area_code
    from compared_years
    window breakdown as (partition by year, indicator, respondent_group, care_type, area_type, parent_code)
),

-- rules 1 and 2
within_breakdown as (
    select
        *,
        below_threshold
        or (parent_code is not null and below_in_breakdown = 1 and not below_threshold and size_rank = 1)
            as hidden_within_breakdown
    from ranked
),

-- rule 3, given the final status of each breakdown's total (regio and subregio cells get no rule 3
-- themselves: a region total is hidden only below the threshold, and then so is every sub-region)
suppression as (
    select
        c.*,
        c.hidden_within_breakdown
        or (c.below_in_breakdown = 0 and coalesce(t.hidden_within_breakdown, false) and c.size_rank <= 2)
            as is_suppressed
    from within_breakdown as c
    left join within_breakdown as t
        on t.year = c.year
        and t.indicator = c.indicator
        and t.respondent_group = c.respondent_group
        and t.care_type = c.care_type
        and t.area_type = c.total_area_type
        and t.area_code = c.total_area_code
),

published as (
    select
        year, area_type, area_code, area_name, respondent_group, care_type, indicator,
        case when not is_suppressed then n end as n,
        case when not is_suppressed then value end as value,
        case when not is_suppressed then ci_low end as ci_low,
        case when not is_suppressed then ci_high end as ci_high,
        is_suppressed as suppressed
    from suppression
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
