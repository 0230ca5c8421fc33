"""Resources: the warehouse, the landing zone, the export area, the analysts' snapshot and the pseudonym key."""

from rmj_dagster.resources.export_area import ExportArea
from rmj_dagster.resources.key_resource import PseudonymKeyResource
from rmj_dagster.resources.landing_resource import LandingZoneResource
from rmj_dagster.resources.snapshot_resource import AnalystSnapshot
from rmj_dagster.resources.warehouse_resource import Warehouse

__all__ = ["AnalystSnapshot", "ExportArea", "LandingZoneResource", "PseudonymKeyResource", "Warehouse"]
