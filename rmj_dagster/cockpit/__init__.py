"""The data team's cockpit: the delivery monitor (who is late), where a figure comes from, what changed.

Reads the warehouse tables ``marts.delivery_monitor`` and ``marts.figure_sources`` (built in SQL) and
renders them for people: the monitor page, ``rmj explain`` and the changed-figures summary. No Dagster here.
"""
