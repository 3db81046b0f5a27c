"""Server-rendered pages: one Jinja environment, one base layout, works without JavaScript."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=str(HERE / "templates"))


def render(
    request: Request, name: str, context: dict[str, Any] | None = None, status_code: int = 200
) -> HTMLResponse:
    settings = request.app.state.settings
    base = {
        "settings": settings,
        "platform_url": settings.platform_url,
        "user": getattr(request.state, "user", None),
    }
    return templates.TemplateResponse(request, name, {**base, **(context or {})}, status_code=status_code)
