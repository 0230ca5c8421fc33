"""CBS: the half-yearly outcome extract, its files and checks, made on its publication day (its automation
condition, ``rmj_dagster/automation.py``) and on request."""

import dagster as dg

from rmj_dagster.assets.cbs.checks import conforms_to_cbs_spec, extract_conforms_and_holds_no_identifiers
from rmj_dagster.assets.cbs.extract_files import cbs_extract_files
from rmj_dagster.assets.cbs.jobs import cbs_job
from rmj_dagster.assets.sql_assets import build_sql_assets

_assets = [*build_sql_assets("cbs"), cbs_extract_files]

defs = dg.Definitions(
    assets=_assets,
    asset_checks=[conforms_to_cbs_spec, extract_conforms_and_holds_no_identifiers],
    jobs=[cbs_job(_assets)],
)
