"""Session routes: sessions (newest first) and one session's turns, with Claude Code's own totals."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from traceability.lineage_api.dependencies import ConnectionDep
from traceability.lineage_api.errors import processing_time_ms
from traceability.lineage_api.models import (
    Envelope,
    SessionData,
    SessionList,
    SessionSummary,
    TurnSummary,
    TurnTotals,
)
from traceability.lineage_api.store import sessions
from traceability.lineage_api.store.errors import NotFound

router = APIRouter(tags=["sessions"])


@router.get(
    "/sessions",
    response_model=Envelope[SessionList],
    summary="Sessions, newest activity first, with LLM calls, tokens, cost and time split",
)
async def list_sessions(
    conn: ConnectionDep,
    request: Request,
    since: Annotated[datetime | None, Query(description="last activity at or after (ISO 8601)")] = None,
    until: Annotated[datetime | None, Query(description="last activity before (ISO 8601)")] = None,
    user_id: Annotated[str | None, Query(description="the hooks' user id")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=2**63 - 1)] = 0,
) -> Envelope[SessionList]:
    rows, total = await sessions.list_sessions(
        conn, since=since, until=until, user_id=user_id, limit=limit, offset=offset
    )
    items = [SessionSummary(**{**row, "totals": TurnTotals(**row["totals"])}) for row in rows]
    data = SessionList(
        sessions=items, total=total, limit=limit, offset=offset, has_more=offset + len(items) < total
    )
    return Envelope(data=data, metadata={"processing_time_ms": processing_time_ms(request)})


@router.get(
    "/sessions/{session_id}",
    response_model=Envelope[SessionData],
    summary="One session: its turns in time order, each with its totals, and the session's totals",
)
async def session(session_id: str, conn: ConnectionDep, request: Request) -> Response:
    """The body serialized once by pydantic (FastAPI would validate the model a second time)."""
    turns = await sessions.session_turns(conn, session_id)
    if not turns:
        raise NotFound(f"session '{session_id}' not found", session_id=session_id)
    data = SessionData(
        session_id=session_id,
        turns=[TurnSummary(**{**t, "totals": TurnTotals(**t["totals"])}) for t in turns],
        totals=TurnTotals(**sessions.sum_totals([t["totals"] for t in turns])),
    )
    body = Envelope[SessionData](data=data, metadata={"processing_time_ms": processing_time_ms(request)})
    return Response(body.model_dump_json(), media_type="application/json")
