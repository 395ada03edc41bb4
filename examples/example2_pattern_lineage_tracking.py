"""Example 2 (Pattern Lineage Tracking): a plain httpx client of `traceability api`.

The service URL comes from INTELLIGENCE_SERVICE_URL (default http://localhost:8053, the API's
default port). The example derives ``async_db_writer_v3`` from ``async_db_writer_v2``, so running this file first records v2
(a repeat run finds it already there).

    traceability api &            # or: traceability up
    python examples/example2_pattern_lineage_tracking.py
"""

import asyncio
import os

import httpx

INTELLIGENCE_SERVICE_URL = os.environ.get("INTELLIGENCE_SERVICE_URL", "http://localhost:8053")


# Kept as a client of the API's HTTP interface writes it (the tests run it unchanged):
# fmt: off
async def track_pattern_creation():
    """Track a new pattern in the lineage system"""

    async with httpx.AsyncClient() as client:
        response = await client.post(
            f"{INTELLIGENCE_SERVICE_URL}/api/pattern-traceability/lineage/track",
            json={
                "event_type": "pattern_created",
                "pattern_id": "async_db_writer_v3",
                "pattern_name": "Async Database Writer",
                "pattern_type": "code",
                "pattern_version": "3.0.0",
                "pattern_data": {
                    "template_code": "async def write_to_db...",
                    "language": "python",
                    "framework": "asyncpg"
                },
                "parent_pattern_ids": ["async_db_writer_v2"],
                "edge_type": "derived_from",
                "transformation_type": "optimization",
                "reason": "Improved connection pooling",
                "triggered_by": "claude_code"
            }
        )

        result = response.json()
        print(f"Pattern tracked: {result['success']}")
        print(f"Node ID: {result['data']['node_id']}")
# fmt: on


async def record_parent() -> None:
    """The parent ``track_pattern_creation`` names, so that it has one to derive from."""
    async with httpx.AsyncClient() as client:
        response = await client.post(
            f"{INTELLIGENCE_SERVICE_URL}/api/pattern-traceability/lineage/track",
            json={
                "event_type": "pattern_created",
                "pattern_id": "async_db_writer_v2",
                "pattern_name": "Async Database Writer",
                "pattern_data": {"template_code": "async def write_to_db...", "language": "python"},
                "triggered_by": "example",
            },
        )
        response.raise_for_status()


async def main() -> None:
    await record_parent()
    await track_pattern_creation()


if __name__ == "__main__":
    asyncio.run(main())
