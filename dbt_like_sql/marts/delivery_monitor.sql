-- Per provider x month: what came in, what was made of it, and whether the provider is late with its goals.
-- group: monitor
-- grain: aanbieder_agb, month
-- For the data team and the contract managers (outputs.md, "Delivery monitor"); operational counts that stay
-- inside the region's environment. One row per provider (AGB) and calendar month in which the provider sent a
-- file or ended a trajectory. Files are counted in the month they were received (received_at): files_* per
-- kind of loaded delivery, files_quarantined once per quarantined delivery wherever it was quarantined (on
-- receipt or in the TTP step; its provider is the 8-digit AGB in its file name when that names a known provider,
-- else 'onbekend'), rows accepted and rejected by reason. Trajectories are counted in the month they ended
-- (einddatum of the cleaned stop record): ended, with a goal (end) measurement (meetdatum at most
-- end_measurement_window_days before einddatum, or later) and with an EINDE questionnaire (has_end_response).
-- Late, once the deadline (the end of month M + goals_due_months, codebook) lies before the data cut-off (the
-- latest delivery received): a month with ended trajectories of which none has a goal measurement yet, or whose
-- goal measurements came in on time for less than goals_on_time_min_share (codebook) of them
-- (goals_on_time_share = ended_with_goal_in_time / ended_with_goal): a month where 19 of 20 measurements came
-- a month late is late, though one came in time. Trajectories that never get a goal measurement (not every
-- trajectory is measured) do not make a month late on their own. Months are written YYYY-MM (no full date leaves audit). status: late, quarantined (a file of that month was quarantined), delivered, or nothing_due.
with cutoff as (
    select max(received_at)::date as data_cutoff from audit.deliveries
),

known_providers as (
    select distinct aanbieder_agb from intermediate.delivery_reconciliation where aanbieder_agb is not null
),

files as (
    select
        coalesce(
            r.aanbieder_agb,
            (select p.aanbieder_agb from known_providers as p
             where regexp_matches(r.file_name, '(^|[^0-9])' || p.aanbieder_agb || '([^0-9]|$)') limit 1),
            'onbekend'
        ) as aanbieder_agb,
        date_trunc('month', r.received_at)::date as month,
        r.kind,
        r.status,
        r.quarantine_reason,
        r.rows_accepted,
        r.rows_rejected,
        r.delivery_id
    from intermediate.delivery_reconciliation as r
),

file_counts as (
    select
        aanbieder_agb,
        month,
        count(*) filter (where status = 'loaded' and kind = 'responses') as files_responses,
        count(*) filter (where status = 'loaded' and kind = 'stop_zorg') as files_stop_zorg,
        count(*) filter (where status = 'loaded' and kind = 'goals') as files_goals,
        count(*) filter (where status = 'quarantined') as files_quarantined,
        string_agg(distinct quarantine_reason, ', ' order by quarantine_reason) as quarantine_reasons,
        sum(rows_accepted)::bigint as rows_accepted,
        sum(rows_rejected)::bigint as rows_rejected
    from files
    group by aanbieder_agb, month
),

rejections as (
    select f.aanbieder_agb, f.month, j.reason_code, count(*) as n
    from intermediate.rejected_rows as j
    inner join files as f on f.delivery_id = j.delivery_id
    group by all
),

rejections_by_reason as (
    select aanbieder_agb, month, string_agg(reason_code || '=' || n, ', ' order by n desc, reason_code asc) as rejected_by_reason
    from rejections
    group by aanbieder_agb, month
),

-- the earliest receipt of an accepted goal measurement of the trajectory, taken around or after its end
ended as (
    select
        t.aanbieder_agb,
        date_trunc('month', t.einddatum)::date as month,
        t.has_end_response,
        (
            select min(g.received_at)::date
            from staging.stg_goals as g
            where g.reject_reason is null
                and g.aanbieder_agb = t.aanbieder_agb
                and g.toewijzingnummer = t.toewijzingnummer
                and g.meetdatum >= t.einddatum - to_days(rmj_param('end_measurement_window_days')::integer)
        ) as goal_received
    from intermediate.trajectory_outcomes as t
    where t.einddatum is not null
),

trajectory_counts as (
    select
        aanbieder_agb,
        month,
        count(*) as trajectories_ended,
        count(goal_received) as ended_with_goal,
        count(*) filter (where has_end_response) as ended_with_response,
        count(*) filter (
            where goal_received <= last_day(month + to_months(rmj_param('goals_due_months')::integer))
        ) as ended_with_goal_in_time
    from ended
    group by aanbieder_agb, month
),

grid as (
    select aanbieder_agb, month from file_counts
    union
    select aanbieder_agb, month from trajectory_counts
)

select
    g.aanbieder_agb,
    strftime(g.month, '%Y-%m') as month,
    coalesce(f.files_responses, 0) as files_responses,
    coalesce(f.files_stop_zorg, 0) as files_stop_zorg,
    coalesce(f.files_goals, 0) as files_goals,
    coalesce(f.files_quarantined, 0) as files_quarantined,
    f.quarantine_reasons,
    coalesce(f.rows_accepted, 0) as rows_accepted,
    coalesce(f.rows_rejected, 0) as rows_rejected,
    r.rejected_by_reason,
    coalesce(t.trajectories_ended, 0) as trajectories_ended,
    coalesce(t.ended_with_goal, 0) as ended_with_goal,
    coalesce(t.ended_with_goal_in_time, 0) as ended_with_goal_in_time,
    coalesce(t.ended_with_response, 0) as ended_with_response,
    strftime(g.month + to_months(rmj_param('goals_due_months')::integer), '%Y-%m') as goals_due_month,
    t.ended_with_goal_in_time / nullif(t.ended_with_goal, 0) as goals_on_time_share,
    coalesce(
        t.trajectories_ended > 0
        and last_day(g.month + to_months(rmj_param('goals_due_months')::integer)) < c.data_cutoff
        and (
            t.ended_with_goal = 0
            or t.ended_with_goal_in_time < rmj_param('goals_on_time_min_share')::double * t.ended_with_goal
        ),
        false
    ) as late,
    case
        when coalesce(
            t.trajectories_ended > 0
            and last_day(g.month + to_months(rmj_param('goals_due_months')::integer)) < c.data_cutoff
            and (
                t.ended_with_goal = 0
                or t.ended_with_goal_in_time < rmj_param('goals_on_time_min_share')::double * t.ended_with_goal
            ),
            false
        ) then 'late'
        when coalesce(f.files_quarantined, 0) > 0 then 'quarantined'
        when coalesce(f.files_responses + f.files_stop_zorg + f.files_goals, 0) > 0
            or coalesce(t.ended_with_goal_in_time, 0) > 0 then 'delivered'
        else 'nothing_due'
    end as status
from grid as g
cross join cutoff as c
left join file_counts as f on f.aanbieder_agb = g.aanbieder_agb and f.month = g.month
left join rejections_by_reason as r on r.aanbieder_agb = g.aanbieder_agb and r.month = g.month
left join trajectory_counts as t on t.aanbieder_agb = g.aanbieder_agb and t.month = g.month
