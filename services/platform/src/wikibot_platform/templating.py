"""Server-rendered pages: one Jinja environment, one base layout, works without JavaScript."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from .auth import csrf

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=str(HERE / "templates"))

# Pages hold CSRF tokens and, once, new secrets: never framed, cached or leaked through Referer.
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' https: data:; style-src 'self'; script-src 'self'; "
        "frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def when(value: datetime | None, never: str = "never") -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else never


def size(value: int) -> str:
    amount = float(value)
    for unit in ("bytes", "KB", "MB", "GB"):
        if amount < 1024 or unit == "GB":
            return f"{amount:.0f} {unit}" if unit == "bytes" else f"{amount:.1f} {unit}"
        amount /= 1024
    return f"{value} bytes"


templates.env.filters["when"] = when
templates.env.filters["size"] = size


def render(
    request: Request, name: str, context: dict[str, Any] | None = None, status_code: int = 200
) -> HTMLResponse:
    settings = request.app.state.settings
    user = getattr(request.state, "user", None)
    base = {
        "settings": settings,
        "platform_url": settings.platform_url,
        "user": user,
        "csrf_token": csrf.token_for(request, user),
    }
    response = templates.TemplateResponse(request, name, {**base, **(context or {})}, status_code=status_code)
    response.headers.update(PAGE_HEADERS)
    return response
