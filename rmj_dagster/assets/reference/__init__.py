"""Reference: the codebook's code lists and thresholds as ``ref.*`` tables."""

import dagster as dg

from rmj_dagster.assets.reference.codebook_tables import codebook_tables

defs = dg.Definitions(assets=[codebook_tables])
