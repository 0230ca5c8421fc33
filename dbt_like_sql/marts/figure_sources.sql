-- Where a published figure comes from: every published CEO figure with the deliveries behind it.
-- partition: year
-- group: ceo
-- grain: year, area_type, area_code, respondent_group, care_type, indicator, delivery_id?
-- One row per published figure (marts.ceo_indicators, not suppressed) and delivery that contributed rows to
-- it: provider, delivery id, file name as stored, received at, rows contributed (the delivery's observations
-- in the figure's n; intermediate.indicator_observations aggregated with the very grouping sets of
-- indicator_base). Figures that were published before and are suppressed or gone now keep one row without a
-- delivery (published = false).
-- Changes: audit.published_figures holds every publication of the year (publication_id, recorded_at). The
-- latest is compared with the one before, as published (value and n exactly as indicators.csv shows them:
-- the macros rmj_published_figure and rmj_published_count; never an unrounded value), and suppression. changed is true where the published form differs (new, gone, other
-- value or n); new_delivery marks deliveries processed after the previous publication, i.e. the ones that
-- brought the change (a correction that only withdrew rows shows as a changed figure without one).
with publications as (
    select publication_id, recorded_at, dense_rank() over (order by recorded_at desc, publication_id desc) as recency
    from (select distinct publication_id, recorded_at from audit.published_figures where year = cast($period as integer))
),

versions as (
    select
        p.recency,
        p.recorded_at,
        f.year, f.area_type, f.area_code, f.respondent_group, f.care_type, f.indicator,
        case when not f.suppressed then rmj_published_figure(f.indicator, f.value) end as shown_value,
        case when not f.suppressed then rmj_published_count(f.n) end as shown_n,
        f.suppressed
    from audit.published_figures as f
    inner join publications as p using (publication_id)
    where p.recency <= 2
),

figures as (
    select
        coalesce(cur.year, prev.year) as year,
        coalesce(cur.area_type, prev.area_type) as area_type,
        coalesce(cur.area_code, prev.area_code) as area_code,
        coalesce(cur.respondent_group, prev.respondent_group) as respondent_group,
        coalesce(cur.care_type, prev.care_type) as care_type,
        coalesce(cur.indicator, prev.indicator) as indicator,
        coalesce(not cur.suppressed, false) as published,
        cur.shown_n as n,
        cur.shown_value as value,
        prev.shown_n as previous_n,
        prev.shown_value as previous_value,
        prev.recorded_at as previous_published_at,
        (select max(p.recorded_at) from publications as p where p.recency = 2) as previous_publication_at,
        (cur.suppressed is distinct from prev.suppressed
            or cur.shown_n is distinct from prev.shown_n
            or cur.shown_value is distinct from prev.shown_value)
            and (select count(*) from publications) > 1 as changed
    from (select * from versions where recency = 1) as cur
    full join (select * from versions where recency = 2) as prev
        using (year, area_type, area_code, respondent_group, care_type, indicator)
    where coalesce(not cur.suppressed, false) or coalesce(not prev.suppressed, false)
),

observations_per_delivery as (
    select year, gemeentecode, subregio, aanbieder_agb, respondent_group, care_type, indicator, by_respondent,
        delivery_id, count(*) as rows
    from intermediate.indicator_observations
    where year = cast($period as integer)
    group by all
),

-- the grouping of indicator_base, with the delivery as one more key
contributions as (
    select
        year,
        rmj_area_type(grouping(gemeentecode, subregio, aanbieder_agb)) as area_type,
        rmj_area_code(grouping(gemeentecode, subregio, aanbieder_agb), gemeentecode, subregio, aanbieder_agb) as area_code,
        rmj_or_all(grouping(respondent_group), respondent_group) as respondent_group,
        rmj_or_all(grouping(care_type), care_type) as care_type,
        indicator,
        delivery_id,
        sum(rows)::bigint as rows_contributed
    from observations_per_delivery
    group by
        year, indicator, by_respondent, delivery_id,
        grouping sets ((gemeentecode, subregio), (subregio), (aanbieder_agb), ()),
        cube (respondent_group, care_type)
    having by_respondent or grouping(respondent_group, care_type) = 0
)

select
    -- a parameter, not a column
    $period as period,  -- noqa: RF02
    f.year,
    f.area_type,
    f.area_code,
    f.respondent_group,
    f.care_type,
    f.indicator,
    f.published,
    f.n,
    f.value,
    f.previous_n,
    f.previous_value,
    f.changed,
    c.delivery_id,
    d.aanbieder_agb,
    d.file_name,
    d.received_at,
    c.rows_contributed,
    coalesce(d.processed_at > f.previous_publication_at, false) as new_delivery
from figures as f
left join contributions as c
    on f.published
    and c.year = f.year
    and c.area_type = f.area_type
    and c.area_code = f.area_code
    and c.respondent_group = f.respondent_group
    and c.care_type = f.care_type
    and c.indicator = f.indicator
left join intermediate.delivery_reconciliation as d on d.delivery_id = c.delivery_id
