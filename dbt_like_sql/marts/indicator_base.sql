-- Every CEO figure of a year before suppression: year x area x respondent group x care type.
-- partition: year
-- group: ceo
-- grain: period, year, area_type, area_code, respondent_group, care_type, indicator
-- Not published as such: ceo_indicators suppresses and compares it; nothing reads it for a file.
-- A year's partition (period) holds the figures of that year and of the year before, from the data as it
-- is now: the comparison ceo_indicators makes. So a year's publication never depends on whether, or on
-- what data, the year before was built (a year published by its own CEO run, the year before never).
-- Select one period when reading it: the year before appears in two partitions.
-- Years: a response counts in the year of invuldatum, a stop record in the year of einddatum, a goal
-- measurement in the year of meetdatum (outputs.md, "Reporting periods").
-- Areas (area_type / area_code / area_name / parent_code):
--   gemeente  / 4-digit CBS code / name from ref.region (ref.gemeenten) / its sub-region (AA, ZW)
--   subregio  / AA, ZW           / ref.region.subregio_naam            / RMJ
--   regio     / RMJ              / Regionale Monitor Jeugd             / NULL
--   aanbieder / AGB code         / the AGB code                        / AANBIEDERS
-- parent_code names the breakdown a cell belongs to for complementary suppression (its siblings add up to
-- the parent's total: the municipalities of a sub-region, the sub-regions of the region, the providers).
-- Questionnaire figures come per respondent group (OUDERS, JONGEREN, ALL) x care type (EINDE, DUURZAAM,
-- ALL); pct_uitval, pct_doelrealisatie, pct_probleemafname and mean_gas_t only as ALL/ALL (the area is the
-- gemeentecode on the stop record or goal measurement); response_rate only as ALL/EINDE.
-- Figures:
--   n_responses             count of cleaned responses (value = n, no interval)
--   pct_positive_q01..q08   answers >= positive_min (4, 5) / answers min..max (1-5): 9 and empty excluded
--   pct_q09_7plus           q09 >= 7 / q09 1-10;  mean_q09: mean of q09 1-10
--   pct_zonder_hulp_verder  q10 >= 3 (03, 04) / q10 1-4
--   pct_uitval              ended trajectories that count (counts_as_end: CBS 01-05) with is_uitval (CBS 03)
--                           / ended trajectories that count (JZ588 20, 36, 37, 38 are not in the denominator)
--   response_rate           counting ended trajectories with has_end_response (an EINDE questionnaire within
--                           response_window_days of einddatum, see trajectory_outcomes) / counting ended ones
--   pct_doelrealisatie      measurements with goal_attained (GAS T >= gas_t_success) / measurements
--   pct_probleemafname      measurements with problem_decreased / measurements with a probleemafname score
--   mean_gas_t              mean GAS T-score of the measurements
-- Item ranges and thresholds come from ref.cem_items, the rest from ref.parameters via the intermediate
-- tables. Percentages are 0-100 with the Wilson score 95% interval (rmj_wilson_low/high x 100). Means carry
-- a normal-approximation 95% interval, mean +/- z * sd / sqrt(n) with the sample standard deviation and
-- z = wilson_z (a working choice: simple and adequate for n >= 10, the only n that is ever published;
-- NULL when n = 1). Values are unrounded; rounding happens only when a file is written.
with region_municipalities as (
    select
        r.gemeentecode,
        coalesce(g.gemeentenaam, r.gemeentenaam) as gemeentenaam,
        r.subregio,
        r.subregio_naam
    from ref.region as r
    left join ref.gemeenten as g on g.gemeentecode = r.gemeentecode
    where r.gemeentecode = r.reported_as  -- current codes only: 0370 Beemster is reported as 0439 Purmerend
),

observations as (
    select * from intermediate.indicator_observations
    where year in (cast($period as integer), cast($period as integer) - 1)
),

-- One aggregation for every area x group x care cell. The area grouping sets are municipality (with its
-- sub-region as parent), sub-region, provider and the whole region; crossed with the cube of respondent
-- group x care type, where a rolled-up column means ALL. grouping(gemeentecode, subregio, aanbieder_agb)
-- tells the area sets apart (rmj_area_type and the other area macros, macros.sql).
cells as (
    select
        year,
        rmj_area_type(grouping(gemeentecode, subregio, aanbieder_agb)) as area_type,
        rmj_area_code(grouping(gemeentecode, subregio, aanbieder_agb), gemeentecode, subregio, aanbieder_agb) as area_code,
        rmj_parent_code(grouping(gemeentecode, subregio, aanbieder_agb), subregio) as parent_code,
        rmj_or_all(grouping(respondent_group), respondent_group) as respondent_group,
        rmj_or_all(grouping(care_type), care_type) as care_type,
        indicator,
        statistic,
        count(*) filter (where hit) as numerator,
        count(*) as n,
        avg(x) as mean,
        stddev_samp(x) as sd
    from observations
    group by
        year, indicator, statistic, by_respondent,
        grouping sets ((gemeentecode, subregio), (subregio), (aanbieder_agb), ()),
        cube (respondent_group, care_type)
    -- figures without a respondent breakdown carry their own fixed group/care: only their detail rows
    having by_respondent or grouping(respondent_group, care_type) = 0
),

figures as (
    select
        year, area_type, area_code, parent_code, respondent_group, care_type, indicator,
        case when statistic = 'proportion' then numerator end as numerator,
        n,
        case statistic
            when 'proportion' then 100.0 * numerator / n
            when 'mean' then mean
            when 'count' then n
        end as value,
        case statistic
            when 'proportion' then 100.0 * rmj_wilson_low(numerator, n)
            when 'mean' then mean - rmj_param('wilson_z') * sd / sqrt(n)
        end as ci_low,
        case statistic
            when 'proportion' then 100.0 * rmj_wilson_high(numerator, n)
            when 'mean' then mean + rmj_param('wilson_z') * sd / sqrt(n)
        end as ci_high
    from cells
    where area_code is not null and n > 0
),

area_names as (
    select 'gemeente' as area_type, gemeentecode as area_code, gemeentenaam as area_name
    from region_municipalities
    union all
    select distinct 'subregio', subregio, subregio_naam
    from region_municipalities
)

select
    $period as period,  -- noqa: RF02
    f.year,
    f.area_type,
    f.area_code,
    case f.area_type
        when 'regio' then 'Regionale Monitor Jeugd'
        when 'aanbieder' then f.area_code
        else coalesce(a.area_name, f.area_code)
    end as area_name,
    f.parent_code,
    f.respondent_group,
    f.care_type,
    f.indicator,
    f.numerator,
    f.n,
    f.value::double as value,
    f.ci_low::double as ci_low,
    f.ci_high::double as ci_high
from figures as f
left join area_names as a on a.area_type = f.area_type and a.area_code = f.area_code
where f.area_type <> 'gemeente' or f.area_code in (select rm.gemeentecode from region_municipalities as rm)
