"""Exact statistics over packed values (numpy): percentiles, means, spread, distinct counts.

Counts, distinct counts, minima, maxima and percentiles (order statistics, found by partitioning)
do not depend on the order the values come in, so rollups and raw rows give identical ones; means
and standard deviations are sums, equal up to the rounding of the summation order (~1e-15).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

PERCENTILES = (50.0, 95.0, 99.0)


def float_values(packed: bytes) -> NDArray[np.float64]:
    """Big-endian float8 values (as PostgreSQL's float8send writes them), in native order."""
    return np.frombuffer(packed, dtype=">f8").astype(np.float64)


def distinct_count(packed: bytes) -> int:
    """How many distinct ids a concatenation of packed int8 id sets holds.

    Ids come from an identity column, so they are dense: a bitmap over their range is exact and
    several times faster than sorting; a range far larger than the sample falls back to a sort.
    """
    if not packed:
        return 0
    ids = np.frombuffer(packed, dtype=">i8").astype(np.int64)
    low, high = int(ids.min()), int(ids.max())
    if high - low > 16 * ids.size + 1_000_000:
        return int(np.unique(ids).size)
    seen = np.zeros(high - low + 1, dtype=np.bool_)
    seen[ids - low] = True
    return int(np.count_nonzero(seen))


@dataclass(frozen=True)
class Spread:
    """Summary of a sample; percentiles interpolate linearly between order statistics (numpy's default)."""

    count: int
    mean: float
    p50: float
    p95: float
    p99: float
    minimum: float
    maximum: float
    std: float | None  # sample standard deviation (ddof=1); None below two values


def spread(values: NDArray[np.float64]) -> Spread | None:
    """The summary of ``values``; None when there are none."""
    if not values.size:
        return None
    p50, p95, p99 = (float(v) for v in np.percentile(values, PERCENTILES))
    return Spread(
        count=int(values.size),
        mean=float(values.mean()),
        p50=p50,
        p95=p95,
        p99=p99,
        minimum=float(values.min()),
        maximum=float(values.max()),
        std=float(values.std(ddof=1)) if values.size > 1 else None,
    )
