"""Example 4 (Compute Usage Analytics): a plain httpx client of `traceability api`.

The service URL comes from INTELLIGENCE_SERVICE_URL (default http://localhost:8053, the API's
default port). The pattern needs executions: the
pattern deriver records them as Claude Code writes code (or run Example 2 and use the pattern).

    python examples/example4_analytics.py
"""

import asyncio
import os

import httpx

INTELLIGENCE_SERVICE_URL = os.environ.get("INTELLIGENCE_SERVICE_URL", "http://localhost:8053")


# Kept as a client of the API's HTTP interface writes it (the tests run it unchanged):
# fmt: off
async def compute_pattern_analytics():
    """Compute usage analytics for a pattern"""

    async with httpx.AsyncClient() as client:
        response = await client.post(
            f"{INTELLIGENCE_SERVICE_URL}/api/pattern-traceability/analytics/compute",
            json={
                "pattern_id": "async_db_writer_v3",
                "time_window_type": "weekly",
                "include_performance": True,
                "include_trends": True
            }
        )

        result = response.json()

        metrics = result['usage_metrics']
        print(f"Total executions: {metrics['total_executions']}")
        print(f"Executions per day: {metrics['executions_per_day']}")
        print(f"Unique contexts: {metrics['unique_contexts']}")

        success = result['success_metrics']
        print(f"Success rate: {success['success_rate']:.2%}")
        print(f"Average quality: {success['avg_quality_score']:.2f}")

        if result['trend_analysis']:
            trend = result['trend_analysis']
            print(f"Trend: {trend['trend_type']}")
            print(f"Growth: {trend['growth_percentage']:.1f}%")
# fmt: on


if __name__ == "__main__":
    asyncio.run(compute_pattern_analytics())
