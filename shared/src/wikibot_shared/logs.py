"""Logging: structured JSON in containers, readable text on a terminal, secrets redacted in both.

Redaction is a filter on every handler, so a token that reaches a log call by mistake (in the message, an
argument or an ``extra`` field) is masked before any formatter sees it. The request id that Caddy sets
(``X-Request-Id``) is carried in a context variable and added to every record.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Literal

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)


def propagation_headers() -> dict[str, str]:
    """Headers for a call to another service on behalf of the current request: its ``X-Request-Id``, which
    the callee's ``RequestContext`` adopts, so one id follows a request through every service's log lines."""
    rid = request_id_var.get()
    return {"X-Request-Id": rid} if rid else {}


REDACTED = "[redacted]"
_SECRET_PATTERNS = [
    re.compile(r"(?i)\b(bearer|basic|dpop)\s+[A-Za-z0-9._~+/=-]{8,}"),
    re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"),  # JWT / JWS
    re.compile(r"\bwb(?:p|r|c)_[A-Za-z0-9_-]{16,}"),  # our personal, refresh and client-secret tokens
    re.compile(
        r"(?i)\b(access_token|refresh_token|id_token|client_secret|password|code_verifier|code|"
        r"client_assertion|session|token)=([^&\s;\"']+)"
    ),
]
_SECRET_KEYS = re.compile(r"(?i)(token|secret|password|cookie|authorization|assertion|private|jwk|dpop)")
_STD_ATTRS = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "service"}


def redact(text: str) -> str:
    for pattern in _SECRET_PATTERNS:
        if pattern.groups >= 2:
            text = pattern.sub(lambda m: f"{m.group(1)}={REDACTED}", text)
        elif pattern.groups == 1:
            text = pattern.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
        else:
            text = pattern.sub(REDACTED, text)
    return text


def _redact_value(key: str, value: Any) -> Any:
    if _SECRET_KEYS.search(key):
        return REDACTED
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: _redact_value(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact_value(key, v) for v in value]
    return value


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        for key in list(vars(record)):
            if key not in _STD_ATTRS:
                setattr(record, key, _redact_value(key, getattr(record, key)))
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        rid = request_id_var.get()
        if rid and not hasattr(record, "request_id"):
            record.request_id = rid
        return True


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in vars(record).items() if k not in _STD_ATTRS and not k.startswith("_")}


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "service": self.service,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        doc.update(_extras(record))
        if record.exc_text:
            doc["exc"] = record.exc_text
        return json.dumps(doc, default=str)


class TextFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S")
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        extras = _extras(record)
        if extras:
            line += "  " + " ".join(f"{k}={v}" for k, v in extras.items())
        return line


def setup_logging(
    fmt: Literal["auto", "json", "text"] = "auto", level: str = "INFO", *, service: str, stream: Any = None
) -> logging.Handler:
    """Configure the root logger once per process; returns the handler (tests attach to it)."""
    stream = stream or sys.stderr
    if fmt == "auto":
        fmt = "text" if hasattr(stream, "isatty") and stream.isatty() else "json"
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter(service) if fmt == "json" else TextFormatter(service))
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, "_wikibot", False):
            root.removeHandler(old)
    handler._wikibot = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level.upper())
    # HTTP client libraries log whole URLs (query strings can carry codes and tokens) at INFO.
    for noisy in ("httpx", "httpx2", "httpcore"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    return handler
