"""Server-rendered pages: one Jinja environment, one base layout, works without JavaScript."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from . import csrf

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=str(HERE / "templates"))


def render(
    request: Request, name: str, context: dict[str, Any] | None = None, status_code: int = 200
) -> HTMLResponse:
    settings = request.app.state.settings
    user = getattr(request.state, "user", None)
    sid = getattr(user, "credential_id", None)
    base = {
        "settings": settings,
        "platform_url": settings.platform_url,
        "user": user,
        "csrf_token": csrf.token_for(request, sid) if sid else None,
    }
    return templates.TemplateResponse(request, name, {**base, **(context or {})}, status_code=status_code)
