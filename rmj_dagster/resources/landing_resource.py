"""The landing zone as a Dagster resource."""

from __future__ import annotations

import dagster as dg

from rmj_dagster.intake.landing_zone import LandingZone


class LandingZoneResource(dg.ConfigurableResource):
    """Where providers drop deliveries (``RMJ_LANDING_DIR``) and whether originals are kept.

    ``retain_originals`` is for development only: in production an original is destroyed as soon as
    its delivery has been pseudonymised (see docs/privacy.md).
    """

    root: str
    retain_originals: bool = False

    def zone(self) -> LandingZone:
        return LandingZone(self.root).ensure()
