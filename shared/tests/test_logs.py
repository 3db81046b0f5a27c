import io
import json
import logging

import pytest

from wikibot_shared.logs import REDACTED, redact, request_id_var, setup_logging

JWT = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJkaWQ6cGxjOmFiYyJ9.c2lnbmF0dXJlLWJ5dGVz"
PAT = "wbp_" + "A" * 43


@pytest.fixture
def capture() -> io.StringIO:
    stream = io.StringIO()
    setup_logging("json", "DEBUG", service="test", stream=stream)
    return stream


def _records(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_json_lines_with_service_and_request_id(capture: io.StringIO) -> None:
    token = request_id_var.set("req-123")
    try:
        logging.getLogger("wikibot.x").info("hello %s", "world", extra={"wiki": "notes"})
    finally:
        request_id_var.reset(token)
    (rec,) = _records(capture)
    assert rec["msg"] == "hello world"
    assert rec["service"] == "test"
    assert rec["level"] == "info"
    assert rec["wiki"] == "notes"
    assert rec["request_id"] == "req-123"


def test_secrets_never_reach_the_output(capture: io.StringIO) -> None:
    log = logging.getLogger("wikibot.x")
    log.info("Authorization: Bearer %s", JWT)
    log.info("pat %s used", PAT)
    log.info(
        "callback ?code=abc123&state=xyz",
        extra={"cookie": "wikibot_session=" + JWT, "headers": {"Authorization": "x"}},
    )
    log.warning("url", extra={"url": f"https://x/?access_token={JWT}"})
    try:
        raise ValueError(f"bad token {PAT}")
    except ValueError:
        log.exception("failed")
    out = capture.getvalue()
    for secret in (JWT, PAT, "abc123", "c2lnbmF0dXJlLWJ5dGVz"):
        assert secret not in out
    assert out.count(REDACTED) >= 6
    assert "state=xyz" in out  # not a secret, kept


def test_text_format_on_a_terminal() -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    stream = Tty()
    setup_logging("auto", "INFO", service="test", stream=stream)
    logging.getLogger("wikibot.t").info("plain %s", PAT)
    line = stream.getvalue()
    assert not line.startswith("{")
    assert "wikibot.t: plain " + REDACTED in line


def test_redact_is_idempotent() -> None:
    once = redact(f"Bearer {JWT} and {PAT}")
    assert redact(once) == once


def test_propagation_headers_carry_the_current_request_id() -> None:
    from wikibot_shared.logs import propagation_headers, request_id_var

    assert propagation_headers() == {}
    token = request_id_var.set("abc123")
    try:
        assert propagation_headers() == {"X-Request-Id": "abc123"}
    finally:
        request_id_var.reset(token)
    assert propagation_headers() == {}
