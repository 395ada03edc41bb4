"""HTTP serving hardening shared by the collector and the lineage API (limits, timeouts, Host check)."""
