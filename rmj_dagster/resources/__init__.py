"""Resources: the warehouse, the landing zone, the export area and the pseudonym key."""

from rmj_dagster.resources.export_area import ExportArea
from rmj_dagster.resources.landing_resource import LandingZoneResource
from rmj_dagster.resources.key_resource import PseudonymKeyResource
from rmj_dagster.resources.warehouse_resource import Warehouse

__all__ = ["ExportArea", "LandingZoneResource", "PseudonymKeyResource", "Warehouse"]
