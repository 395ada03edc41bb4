"""The lineage API fixtures, shared with tests/lineage_api."""

from tests.lineage_api.conftest import api_settings, client

__all__ = ["api_settings", "client"]
