"""The DuckDB warehouse as a Dagster resource."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import duckdb
from dagster_duckdb import DuckDBResource

from rmj_dagster import warehouse


class Warehouse(DuckDBResource):
    """``DuckDBResource`` whose connections come with the project's schemas and macros.

    Every asset and check that opens it is in the ``duckdb`` pool (limit 1 in ``dagster.yaml``),
    because DuckDB allows one writing process per file; sensors and schedules never open it.
    """

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        with warehouse.connect(self.database, read_only=read_only) as con:
            yield con
