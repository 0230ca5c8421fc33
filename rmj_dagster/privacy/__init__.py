"""Privacy controls that need no Dagster: identifier scans (``identifiers``) and disclosure control of
published tables (``disclosure``)."""
