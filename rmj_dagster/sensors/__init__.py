"""Sensors: new deliveries in the landing zone."""

from rmj_dagster.sensors.delivery_sensor import delivery_sensor

__all__ = ["delivery_sensor"]
