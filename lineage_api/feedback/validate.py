"""Statistical comparison of two versions with scipy (two-sided tests; the direction is reported apart).

- durations and quality scores: Welch's t-test (``ttest_ind(equal_var=False)``, compares means) or
  the Mann-Whitney U test (``mannwhitneyu``, compares distributions, robust to skew);
- success rates: Fisher's exact test (``fisher_exact``) or the pooled two-proportion z-test
  (``chi2_contingency(correction=False)``, whose chi-square is z squared).

A comparison runs only when both samples hold at least ``min_sample_size`` values. It is
*validated* when p < ``significance_level`` and the candidate is better, a *regression* when p is
significant and the candidate is worse. ``confidence = 1 - p``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray
from scipy import stats

TEST_NAMES = {
    "welch": "welch_t_test",
    "mann_whitney": "mann_whitney_u",
    "fisher": "fisher_exact",
    "two_proportion": "two_proportion_z_test",
}


@dataclass(frozen=True)
class TestOutcome:
    test: str
    statistic: float | None
    p_value: float


def _finite_or_none(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def compare_continuous(
    control: NDArray[np.float64], treatment: NDArray[np.float64], method: Literal["welch", "mann_whitney"]
) -> TestOutcome:
    """Two-sided test of treatment against control; a degenerate sample (no spread) gives p = 1."""
    if method == "welch":
        result = stats.ttest_ind(treatment, control, equal_var=False)
    else:
        result = stats.mannwhitneyu(treatment, control, alternative="two-sided")
    p = float(result.pvalue)
    if not math.isfinite(p):  # e.g. both samples constant and equal
        p = 1.0
    return TestOutcome(TEST_NAMES[method], _finite_or_none(float(result.statistic)), p)


def compare_proportions(
    control_successes: int,
    control_n: int,
    treatment_successes: int,
    treatment_n: int,
    method: Literal["fisher", "two_proportion"],
) -> TestOutcome:
    table = np.array(
        [
            [treatment_successes, treatment_n - treatment_successes],
            [control_successes, control_n - control_successes],
        ]
    )
    if method == "fisher":
        result = stats.fisher_exact(table, alternative="two-sided")
        return TestOutcome(TEST_NAMES[method], _finite_or_none(float(result.statistic)), float(result.pvalue))
    if (table.sum(axis=0) == 0).any():  # everyone succeeded (or failed) in both: no difference to test
        return TestOutcome(TEST_NAMES[method], 0.0, 1.0)
    chi2, p, _, _ = stats.chi2_contingency(table, correction=False)
    diff = treatment_successes / treatment_n - control_successes / control_n
    return TestOutcome(TEST_NAMES[method], math.copysign(math.sqrt(float(chi2)), diff), float(p))
