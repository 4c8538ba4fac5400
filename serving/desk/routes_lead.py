"""Lead pages: workload per moderator, queue age, second-review agreement, verdict export."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timezone

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response, StreamingResponse

from groomguard.serving.desk.queue import lead_stats
from groomguard.serving.desk.sessions import DeskSession
from groomguard.serving.desk.web import PREFIX, lead_only, render, services_of
from groomguard.serving.store.cases import audit

router = APIRouter(prefix=f"{PREFIX}/lead", include_in_schema=False)


@router.get("")
def lead_page(request: Request, session: DeskSession = Depends(lead_only)) -> Response:
    stats = lead_stats(services_of(request).store)
    now = datetime.now(timezone.utc)
    oldest_hours = (now - stats.oldest_open).total_seconds() / 3600 if stats.oldest_open else None
    agreement = stats.agreed / stats.double_reviewed if stats.double_reviewed else None
    return render(request, "lead.html", session=session, stats=stats, oldest_hours=oldest_hours,
                  agreement=agreement)


@router.get("/export")
def export(request: Request, session: DeskSession = Depends(lead_only)) -> Response:
    """Decided cases as canonical JSONL (what `groomguard data verdicts` writes); audited."""
    services = services_of(request)
    with services.store.write() as s:
        audit(s, "verdicts:export", session.user.name)

    def lines() -> Iterator[bytes]:
        for conv in services.review.export_decided():
            yield (json.dumps(conv.model_dump(mode="json", exclude_none=True), ensure_ascii=False) + "\n").encode()

    return StreamingResponse(lines(), media_type="application/x-ndjson",
                             headers={"Content-Disposition": 'attachment; filename="verdicts.jsonl"'})
