"""The pseudonym key as a Dagster resource."""

from __future__ import annotations

import dagster as dg

from rmj_dagster.ttp.pseudonym import PseudonymKey


class PseudonymKeyResource(dg.ConfigurableResource):
    """Loads the key from the environment when a run needs it, never earlier and never into config.

    Not an ``EnvVar`` field on purpose: a secret must not sit in run config, and a missing key must
    give the pipeline's own refusal (``KeyRefused``) before any file is read, not a config error.
    """

    def load(self) -> PseudonymKey:
        return PseudonymKey.from_env()
