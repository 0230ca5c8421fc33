"""The wiring of the chain, one package per stage in the order the data travel; each exposes ``defs``.

A stage's package is its Dagster group. Asset keys keep the warehouse schema their table lives in
(``asset_keys.py``), so a key says where the data is and the group says which stage makes it.
"""
