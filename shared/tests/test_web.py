import asyncio
import json
from typing import Any

import pytest

from wikibot_shared.errors import AuthError, NotFound, RateLimited
from wikibot_shared.logs import request_id_var
from wikibot_shared.web import RequestContext, error_parts, request_id_from, validation_message


async def _echo_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    body = json.dumps({"rid": request_id_var.get()}).encode()
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]}
    )
    await send({"type": "http.response.body", "body": body})


def _call(headers: list[tuple[bytes, bytes]]) -> tuple[int, dict[bytes, bytes], dict[str, Any]]:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(
        RequestContext(_echo_app, service="test")({"type": "http", "headers": headers}, receive, send)
    )
    start, body = sent
    return start["status"], dict(start["headers"]), json.loads(body["body"])


def test_request_id_adopted_echoed_and_exposed_to_logs() -> None:
    status, headers, body = _call([(b"x-request-id", b"caddy-abc-123")])
    assert status == 200
    assert headers[b"x-request-id"] == b"caddy-abc-123"
    assert headers[b"x-wikibot-service"] == b"test"
    assert body["rid"] == "caddy-abc-123"


@pytest.mark.parametrize("bad", [b"", b"has space", b"x" * 65, b"<script>"])
def test_bad_request_ids_are_replaced(bad: bytes) -> None:
    _status, headers, body = _call([(b"x-request-id", bad)])
    assert headers[b"x-request-id"] != bad
    assert len(body["rid"]) == 16


def test_oversized_headers_get_json_431() -> None:
    status, headers, body = _call([(b"cookie", b"x" * 20_000)])
    assert status == 431
    assert headers[b"content-type"] == b"application/json"
    assert body == {"error": "headers_too_large", "message": "request headers are too large"}


def test_error_parts() -> None:
    assert error_parts(NotFound("no page")) == (404, {}, {"error": "not_found", "message": "no page"})
    status, headers, _ = error_parts(AuthError("x", challenge='Bearer error="invalid_token"'))
    assert (status, headers) == (401, {"WWW-Authenticate": 'Bearer error="invalid_token"'})
    assert error_parts(RateLimited("slow down", retry_after=7))[1] == {"Retry-After": "7"}


def test_validation_message_and_ids() -> None:
    assert validation_message([{"loc": ("body", "slug"), "msg": "field required"}]) == "slug: field required"
    assert validation_message([]) == "invalid input"
    assert request_id_from(None) != request_id_from(None)
