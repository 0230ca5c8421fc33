-- The yearly CEO indicators as they may be published: small cells suppressed, compared with last year.
-- partition: year
-- group: indicators
-- A figure with n below suppression_min_n is suppressed. Where exactly one cell of a breakdown (the
-- municipalities of a sub-region, the sub-regions of the region, the providers) is suppressed, the next
-- smallest cell is suppressed too, so the hidden one cannot be recovered by subtraction. Suppressed rows
-- keep no n, value or interval. Last year's figure is shown only where it was itself publishable.
with primary_suppression as (
    select *, n < rmj_param('suppression_min_n') as below_threshold
    from marts.indicator_base
),

breakdown as (
    select
        *,
        count(*) filter (where below_threshold) over cell_breakdown as suppressed_in_breakdown,
        row_number() over (
            partition by year, indicator, respondent_group, care_type, area_type, parent_code, below_threshold
            order by n, area_code
        ) as size_rank
    from primary_suppression
    window cell_breakdown as (partition by year, indicator, respondent_group, care_type, area_type, parent_code)
),

suppressed as (
    select
        *,
        below_threshold
        or (parent_code is not null and suppressed_in_breakdown = 1 and not below_threshold and size_rank = 1)
        as is_suppressed
    from breakdown
),

published as (
    select
        year, area_type, area_code, area_name, respondent_group, care_type, indicator,
        case when is_suppressed then null else n end as n,
        case when is_suppressed then null else value end as value,
        case when is_suppressed then null else ci_low end as ci_low,
        case when is_suppressed then null else ci_high end as ci_high,
        is_suppressed as suppressed
    from suppressed
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
        when cur.ci_low is not null and prev.ci_low is not null
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
where cur.year = year($period_start)
