"""The lineage API fixtures (in-process client, live server) shared with tests/lineage_api."""

from tests.lineage_api.conftest import api_settings, client, live_api

__all__ = ["api_settings", "client", "live_api"]
