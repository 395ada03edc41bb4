"""What ``ExecutionTracer.health_check`` reports: the export target's reachability and the last export."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from traceability.instrumentation.export_target import ObservedExporter, TargetKind


@dataclass(frozen=True)
class TracerHealth:
    """What ``health_check`` found. Truthy when healthy, so ``if await tracer.health_check():`` reads as a bool."""

    healthy: bool
    exporter: TargetKind
    target: str
    target_reachable: bool | None  # None: a custom exporter/processor this tracer cannot probe
    detail: str
    last_export_ok: bool | None  # None: nothing exported yet, or not observable
    last_error: str | None
    exported_spans: int
    failed_spans: int
    open_traces: int
    shut_down: bool

    def __bool__(self) -> bool:
        return self.healthy

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def health_report(
    *,
    kind: TargetKind,
    target: str,
    reachable: bool | None,
    detail: str,
    observed: ObservedExporter | None,
    open_traces: int,
    shut_down: bool,
) -> TracerHealth:
    """Unhealthy after shutdown, when the target is unreachable, or when the last export failed."""
    last_ok = observed.last_export_ok if observed else None
    if shut_down:
        detail = "tracer is shut down; " + detail
    elif last_ok is False:
        detail = f"last export failed ({observed.last_error if observed else ''}); " + detail
    return TracerHealth(
        healthy=not shut_down and reachable is not False and last_ok is not False,
        exporter=kind,
        target=target,
        target_reachable=reachable,
        detail=detail,
        last_export_ok=last_ok,
        last_error=observed.last_error if observed else None,
        exported_spans=observed.exported_spans if observed else 0,
        failed_spans=observed.failed_spans if observed else 0,
        open_traces=open_traces,
        shut_down=shut_down,
    )
