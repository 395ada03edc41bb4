"""Variant assignment while two versions are under test: stable per session, no state to keep.

A session's variant is a hash of (experiment, pattern, session) compared with the treatment share,
so every replica of the API gives the same answer, and a session keeps its variant for as long
as the same two versions are compared (a new candidate starts a new experiment).
"""

from __future__ import annotations

import hashlib
from typing import Literal

import asyncpg

from traceability.lineage_api.feedback.models import VariantAssignment
from traceability.lineage_api.feedback.versions import arms
from traceability.lineage_api.store.errors import NotFound


def bucket(experiment_id: str, pattern_id: str, session_id: str) -> float:
    """A uniform number in [0, 1) fixed by its arguments."""
    digest = hashlib.sha256(f"{experiment_id}\0{pattern_id}\0{session_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


async def assign(
    conn: asyncpg.Connection, pattern_id: str, session_id: str, treatment_share: float
) -> VariantAssignment:
    pattern_arms = await arms(conn, pattern_id)
    if not pattern_arms.family:
        raise NotFound(f"pattern '{pattern_id}' not found", pattern_id=pattern_id)
    control, treatment = pattern_arms.control, pattern_arms.treatment
    if control is None:
        raise NotFound(f"every version of pattern '{pattern_id}' is deprecated", pattern_id=pattern_id)
    experiment = pattern_arms.experiment_id
    variant: Literal["control", "treatment"]
    chosen, variant = control, "control"
    if (
        treatment is not None
        and experiment is not None
        and bucket(experiment, pattern_id, session_id) < treatment_share
    ):
        chosen, variant = treatment, "treatment"
    return VariantAssignment(
        pattern_id=pattern_id,
        session_id=session_id,
        under_test=pattern_arms.under_test,
        variant=variant,
        node_id=chosen.id,
        pattern_version=chosen.pattern_version,
        experiment_id=experiment,
        treatment_share=treatment_share,
        control_node_id=control.id,
        treatment_node_id=treatment.id if treatment else None,
    )
