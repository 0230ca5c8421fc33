-- Every CEO figure of every year before suppression: year x area x respondent group x care type.
-- group: indicators
-- Areas: each municipality, each sub-region (AA, ZW), the region (RMJ) and each provider (AGB).
-- Percentages (0-100) carry a Wilson 95% interval; means (mean_q09, mean_gas_t) a normal-approximation
-- interval mean +/- z*sd/sqrt(n) (a working choice). Item ranges and "positive" thresholds come from
-- ref.cem_items. parent_code names the breakdown a cell belongs to, for complementary suppression.
with responses as (
    select
        year(invuldatum) as year, gemeentecode, subregio, aanbieder_agb, respondent_group, care_type,
        q01, q02, q03, q04, q05, q06, q07, q08, q09, q10
    from intermediate.cleaned_responses
),

response_cells as (
    select
        r.*,
        unnest([
            {'area_type': 'gemeente', 'area_code': r.gemeentecode, 'parent_code': r.subregio},
            {'area_type': 'subregio', 'area_code': r.subregio, 'parent_code': 'RMJ'},
            {'area_type': 'regio', 'area_code': 'RMJ', 'parent_code': null},
            {'area_type': 'aanbieder', 'area_code': r.aanbieder_agb, 'parent_code': 'AANBIEDERS'}
        ]) as area
    from responses as r
),

-- one unnest per level: unnests in the same select are zipped, not multiplied
response_cells_by_group as (
    select *, unnest([respondent_group, 'ALL']) as cell_group
    from response_cells
),

response_cells_by_care as (
    select *, unnest([care_type, 'ALL']) as cell_care
    from response_cells_by_group
),

answers as (
    unpivot (
        select year, area, cell_group, cell_care, q01, q02, q03, q04, q05, q06, q07, q08, q09, q10
        from response_cells_by_care
    )
    on q01, q02, q03, q04, q05, q06, q07, q08, q09, q10
    into name item value answer
),

item_figures as (
    select
        a.year, a.area, a.cell_group, a.cell_care, i.indicator,
        count(*) filter (where a.answer >= i.positive_min and a.answer <= i.max_value) as numerator,
        count(*) filter (where a.answer between i.min_value and i.max_value) as n
    from answers as a
    inner join ref.cem_items as i on i.item = a.item
    group by all
),

q09_means as (
    select
        year, area, cell_group, cell_care, 'mean_q09' as indicator,
        null::bigint as numerator,
        count(q09) as n,
        avg(q09) as mean,
        stddev_samp(q09) as sd
    from response_cells_by_care
    where q09 between 1 and 10
    group by all
),

response_counts as (
    select year, area, cell_group, cell_care, 'n_responses' as indicator, count(*) as n
    from response_cells_by_care
    group by all
),

trajectory_cells as (
    select
        year(t.einddatum) as year, t.*,
        unnest([
            {'area_type': 'gemeente', 'area_code': t.gemeentecode, 'parent_code': t.subregio},
            {'area_type': 'subregio', 'area_code': t.subregio, 'parent_code': 'RMJ'},
            {'area_type': 'regio', 'area_code': 'RMJ', 'parent_code': null},
            {'area_type': 'aanbieder', 'area_code': t.aanbieder_agb, 'parent_code': 'AANBIEDERS'}
        ]) as area
    from intermediate.trajectory_outcomes as t
    where t.counts_as_end
),

trajectory_figures as (
    select year, area, 'ALL' as cell_group, 'ALL' as cell_care, 'pct_uitval' as indicator,
        count(*) filter (where is_uitval) as numerator, count(*) as n
    from trajectory_cells group by all
    union all
    select year, area, 'ALL', 'EINDE', 'response_rate',
        count(*) filter (where has_end_response), count(*)
    from trajectory_cells group by all
),

measurement_cells as (
    select
        year(g.meetdatum) as year, g.*,
        unnest([
            {'area_type': 'gemeente', 'area_code': g.gemeentecode, 'parent_code': g.subregio},
            {'area_type': 'subregio', 'area_code': g.subregio, 'parent_code': 'RMJ'},
            {'area_type': 'regio', 'area_code': 'RMJ', 'parent_code': null},
            {'area_type': 'aanbieder', 'area_code': g.aanbieder_agb, 'parent_code': 'AANBIEDERS'}
        ]) as area
    from intermediate.gas_scores as g
),

measurement_figures as (
    select year, area, 'ALL' as cell_group, 'ALL' as cell_care, 'pct_doelrealisatie' as indicator,
        count(*) filter (where goal_attained) as numerator, count(*) as n
    from measurement_cells group by all
    union all
    select year, area, 'ALL', 'ALL', 'pct_probleemafname',
        count(*) filter (where problem_decreased), count(probleemafname)
    from measurement_cells group by all
),

gas_means as (
    select year, area, 'ALL' as cell_group, 'ALL' as cell_care, 'mean_gas_t' as indicator,
        null::bigint as numerator, count(*) as n, avg(gas_t) as mean, stddev_samp(gas_t) as sd
    from measurement_cells group by all
),

proportions as (
    select * from item_figures
    union all select * from trajectory_figures
    union all select * from measurement_figures
),

figures as (
    select
        year, area, cell_group, cell_care, indicator, numerator, n,
        100.0 * numerator / nullif(n, 0) as value,
        100.0 * rmj_wilson_low(numerator, n) as ci_low,
        100.0 * rmj_wilson_high(numerator, n) as ci_high
    from proportions
    union all
    select
        year, area, cell_group, cell_care, indicator, numerator, n, mean,
        mean - rmj_param('wilson_z') * sd / sqrt(n),
        mean + rmj_param('wilson_z') * sd / sqrt(n)
    from q09_means
    union all
    select
        year, area, cell_group, cell_care, indicator, numerator, n, mean,
        mean - rmj_param('wilson_z') * sd / sqrt(n),
        mean + rmj_param('wilson_z') * sd / sqrt(n)
    from gas_means
    union all
    select year, area, cell_group, cell_care, indicator, null, n, n, null, null
    from response_counts
),

area_names as (
    select gemeentecode as code, gemeentenaam as name from ref.gemeenten
    union all
    select distinct subregio, subregio_naam from ref.region
)

select
    f.year,
    f.area.area_type as area_type,
    f.area.area_code as area_code,
    case
        when f.area.area_type = 'regio' then 'Regionale Monitor Jeugd'
        when f.area.area_type = 'aanbieder' then f.area.area_code
        else coalesce(n.name, f.area.area_code)
    end as area_name,
    f.area.parent_code as parent_code,
    f.cell_group as respondent_group,
    f.cell_care as care_type,
    f.indicator,
    f.numerator,
    f.n,
    f.value,
    f.ci_low,
    f.ci_high
from figures as f
left join area_names as n
    on n.code = f.area.area_code and f.area.area_type in ('gemeente', 'subregio')
where f.n > 0
