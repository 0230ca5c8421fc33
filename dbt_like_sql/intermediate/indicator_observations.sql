-- Every observation behind a CEO figure, with the delivery it came from: what indicator_base counts.
-- group: models
-- grain: observation_id
-- incremental by key: aanbieder_agb, toewijzingnummer
-- One row per observation in one shape: `hit` counts in a proportion's numerator, `x` is the value averaged
-- by a mean, by_respondent says whether the figure is broken down by respondent group and care type. Years:
-- a response counts in the year of invuldatum, a stop record in the year of einddatum, a goal measurement in
-- the year of meetdatum. delivery_id is the delivery of the response, stop record or goal measurement
-- (for response_rate the stop record's). Kept as a table so figure_sources can trace each published figure
-- back to its deliveries with the very rows that made it. observation_id is the trajectory key, the
-- indicator and the number of the source row (response, outcome or GAS measurement) within the key, in the
-- order of its content (an observation has no key of its own: two answers of one questionnaire can be
-- alike in every column; rows alike in that order make alike observations). The source rows are numbered,
-- not the observations (a third of the rows), and only those of keys with more than one of a kind go
-- through a window: every other is number 1 without a sort (a window over every source row carried all its
-- columns through the sort). toewijzingnummer is kept so the table can be rebuilt per key.
with response_rows as (  -- noqa: ST03
    -- read by rmj_numbered_per_key('response_rows') below, by name: sqlfluff does not see it read
    select
        year(invuldatum)::integer as year,
        gemeentecode, subregio, aanbieder_agb, toewijzingnummer, respondent_group, care_type, delivery_id,
        q01, q02, q03, q04, q05, q06, q07, q08, q09, q10,
        struct_pack(  -- the order of a key's responses: their content
            year := year(invuldatum)::integer, delivery_id, gemeentecode, respondent_group, care_type,
            q01, q02, q03, q04, q05, q06, q07, q08, q09, q10
        ) as number_order
    from intermediate.cleaned_responses
    where invuldatum is not null
),

responses as (
    select * from rmj_numbered_per_key('response_rows')
),

ended as (  -- noqa: ST03
    -- read by rmj_numbered_per_key('ended') below, by name
    select *, struct_pack(begindatum) as number_order
    from intermediate.trajectory_outcomes
    where counts_as_end and einddatum is not null
),

outcomes as (
    select * from rmj_numbered_per_key('ended')
),

measured as (  -- noqa: ST03
    -- read by rmj_numbered_per_key('measured') below, by name
    select *, struct_pack(meetdatum, pseudoniem) as number_order
    from intermediate.gas_scores
    where meetdatum is not null
),

goal_measurements as (
    select * from rmj_numbered_per_key('measured')
),

-- One row per answer in an item's denominator (min_value..max_value): 9 (not applicable) and empty drop out.
item_answers as (
    select
        a.year, a.gemeentecode, a.subregio, a.aanbieder_agb, a.toewijzingnummer, a.respondent_group, a.care_type,
        a.delivery_id, a.source_nr,
        a.item, i.indicator, a.answer >= i.positive_min as positive, a.answer
    from (
        unpivot responses
        -- UNPIVOT names columns, not references
        on q01, q02, q03, q04, q05, q06, q07, q08, q09, q10  -- noqa: RF02
        into name item value answer
    ) as a
    inner join ref.cem_items as i
        on i.item = a.item and a.answer between i.min_value and i.max_value
),

observations as (
    select year, gemeentecode, subregio, aanbieder_agb, toewijzingnummer, respondent_group, care_type,
        'n_responses' as indicator, 'count' as statistic, true as by_respondent, null::boolean as hit, null::double as x, delivery_id,
        source_nr
    from responses

    union all
    select year, gemeentecode, subregio, aanbieder_agb, toewijzingnummer, respondent_group, care_type,
        indicator, 'proportion', true, positive, null, delivery_id, source_nr
    from item_answers

    union all
    select year, gemeentecode, subregio, aanbieder_agb, toewijzingnummer, respondent_group, care_type,
        'mean_q09', 'mean', true, null, answer, delivery_id, source_nr
    from item_answers
    where item = 'q09'

    union all
    select year(einddatum)::integer, gemeentecode, subregio, aanbieder_agb, toewijzingnummer, 'ALL', 'ALL',
        'pct_uitval', 'proportion', false, is_uitval, null, delivery_id, source_nr
    from outcomes

    union all
    select year(einddatum)::integer, gemeentecode, subregio, aanbieder_agb, toewijzingnummer, 'ALL', 'EINDE',
        'response_rate', 'proportion', false, has_end_response, null, delivery_id, source_nr
    from outcomes

    union all
    select year(meetdatum)::integer, gemeentecode, subregio, aanbieder_agb, toewijzingnummer, 'ALL', 'ALL',
        'pct_doelrealisatie', 'proportion', false, goal_attained, null, delivery_id, source_nr
    from goal_measurements
    where goal_attained is not null

    union all
    select year(meetdatum)::integer, gemeentecode, subregio, aanbieder_agb, toewijzingnummer, 'ALL', 'ALL',
        'pct_probleemafname', 'proportion', false, coalesce(problem_decreased, false), null, delivery_id, source_nr
    from goal_measurements
    where probleemafname is not null

    union all
    select year(meetdatum)::integer, gemeentecode, subregio, aanbieder_agb, toewijzingnummer, 'ALL', 'ALL',
        'mean_gas_t', 'mean', false, null, gas_t, delivery_id, source_nr
    from goal_measurements
    where gas_t is not null
)

select
    -- one string built at once (|| built one per operator); NULL where a part is NULL, as with ||
    case
        when aanbieder_agb is not null and toewijzingnummer is not null and indicator is not null
            then concat(aanbieder_agb, '/', toewijzingnummer, '/', indicator, '/', source_nr)
    end as observation_id,
    * exclude (source_nr)
from observations
