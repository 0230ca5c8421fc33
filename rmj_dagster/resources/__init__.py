"""Resources: the warehouse, the landing zone, the export area and the pseudonym key."""

from rmj_dagster.resources.exports import ExportArea
from rmj_dagster.resources.landing import LandingZoneResource
from rmj_dagster.resources.pseudonym_key import PseudonymKeyResource
from rmj_dagster.resources.warehouse import Warehouse

__all__ = ["ExportArea", "LandingZoneResource", "PseudonymKeyResource", "Warehouse"]
