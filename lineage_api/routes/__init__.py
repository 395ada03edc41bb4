"""HTTP routes of the lineage API; each module exposes ``router`` and is listed in app.ROUTER_MODULES."""
