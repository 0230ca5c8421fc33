"""Sensors: new deliveries in the landing zone, and each half-year once it has ended."""

from rmj_dagster.sensors.delivery_sensor import delivery_sensor
from rmj_dagster.sensors.half_year_sensor import half_year_sensor

__all__ = ["delivery_sensor", "half_year_sensor"]
