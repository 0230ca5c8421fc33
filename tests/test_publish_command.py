"""``rmj publish``: what it refuses, with a clear reason, before any run starts."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from rmj_dagster import cli, warehouse
from rmj_dagster.partitions import ended_half_years, years
from rmj_dagster.warehouse import ddl


def _next_year() -> str:
    return str(int(years.get_partition_keys()[-1]) + 1)  # the running year: not ended


@pytest.mark.parametrize(("args", "reason"), [
    (["ceo", "25"], "a CEO year looks like 2025, not '25'"),
    (["cbs", "2025-H3"], "a CBS half-year looks like 2025-H1, not '2025-H3'"),
    (["ceo", "2017"], "2017 is before the monitor began"),
    (["ceo", _next_year()], f"{_next_year()} has not ended yet"),
    (["cbs", f"{_next_year()}-H2"], f"{_next_year()}-H2 has not ended yet"),
    (["ceo", "2024"], "no data for 2024: no warehouse at"),
])
def test_a_period_not_ended_without_data_or_misspelt_is_refused(rmj_env, capsys, args, reason):
    assert cli.main(["publish", *args]) == 1
    assert capsys.readouterr().err.startswith(f"rmj: cannot publish {args[0].upper()} {args[1]}: {reason}")
    assert not rmj_env["exports"].exists() or not any(rmj_env["exports"].iterdir())


def test_an_ended_period_without_rows_is_refused(rmj_env, capsys):
    with warehouse.connect(rmj_env["warehouse"]) as con:
        ddl.ensure_tables(con)
        for table, column in (("cleaned_stop_zorg", "einddatum"), ("cleaned_responses", "invuldatum"), ("cleaned_goals", "meetdatum")):
            con.execute(f"create table if not exists intermediate.{table} ({column} date, delivery_id varchar)")
    label = ended_half_years(datetime.now(UTC))[-1]
    assert cli.main(["publish", "cbs", label]) == 1
    assert capsys.readouterr().err.startswith(f"rmj: cannot publish CBS {label}: no data for {label}")
    assert cli.main(["publish", "ceo", "2024"]) == 1
    assert capsys.readouterr().err.startswith("rmj: cannot publish CEO 2024: no data for 2024")
