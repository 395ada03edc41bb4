"""Example 3 (Query Pattern Evolution): a plain httpx client of `traceability api`.

The service URL comes from INTELLIGENCE_SERVICE_URL (default http://localhost:8053, the API's
default port). Run Example 2 first.

    python examples/example3_query_pattern_evolution.py
"""

import asyncio
import os

import httpx

INTELLIGENCE_SERVICE_URL = os.environ.get("INTELLIGENCE_SERVICE_URL", "http://localhost:8053")


# Kept as a client of the API's HTTP interface writes it (the tests run it unchanged):
# fmt: off
async def query_pattern_evolution():
    """Query the evolution history of a pattern"""

    async with httpx.AsyncClient() as client:
        response = await client.get(
            f"{INTELLIGENCE_SERVICE_URL}/api/pattern-traceability/lineage/async_db_writer_v3/evolution"
        )

        result = response.json()

        print(f"Total versions: {result['data']['total_versions']}")

        for node in result['data']['evolution_nodes']:
            print(f"  Version {node['version']}: {node['pattern_name']}")
            print(f"    Generation: {node['generation']}")
            print(f"    Created: {node['created_at']}")

        for edge in result['data']['evolution_edges']:
            print(f"  {edge['source_version']} -> {edge['target_version']}")
            print(f"    Type: {edge['edge_type']}")
            print(f"    Transformation: {edge['transformation_type']}")
# fmt: on


if __name__ == "__main__":
    asyncio.run(query_pattern_evolution())
