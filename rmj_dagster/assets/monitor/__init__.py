"""Monitor: the delivery monitor (a SQL model), the data team's page per year and the late-provider warning."""

import dagster as dg

from rmj_dagster.assets.monitor.monitor_page import delivery_monitor_page, no_provider_late
from rmj_dagster.assets.sql_assets import build_sql_assets

defs = dg.Definitions(
    assets=[*build_sql_assets("monitor"), delivery_monitor_page],
    asset_checks=[no_provider_late],
)
