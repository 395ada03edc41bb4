"""A pattern's versions (its lineage family) and the two under test.

The family is every node of the pattern id, plus the nodes linked to them through version edges
(``modified_from`` by the deriver, ``replaced_by`` by the feedback loop), in either direction
(``store.versions.family``).
The *control* is the promoted version (the latest promoted, if several), else the oldest active
one; the *treatment* is the newest other active version. Deprecated versions take no part.
"""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from traceability.lineage_api.store.versions import Version, family


@dataclass(frozen=True)
class Arms:
    family: list[Version]
    control: Version | None
    treatment: Version | None

    @property
    def under_test(self) -> bool:
        return self.control is not None and self.treatment is not None

    @property
    def experiment_id(self) -> str | None:
        if self.control is None or self.treatment is None:
            return None
        return f"{self.control.id}:{self.treatment.id}"


def choose_arms(versions: list[Version]) -> Arms:
    active = [v for v in versions if v.status != "deprecated"]
    if not active:
        return Arms(versions, None, None)
    promoted = [v for v in active if v.status == "promoted"]
    control = promoted[-1] if promoted else active[0]
    challengers = [v for v in active if v.id != control.id]
    return Arms(versions, control, challengers[-1] if challengers else None)


async def arms(conn: asyncpg.Connection, pattern_id: str) -> Arms:
    return choose_arms(await family(conn, pattern_id))
