"""CSRF: cookie-authenticated unsafe requests need the session-bound token and a same-origin browser context;
Bearer requests need neither."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from services.platform.tests.support import Platform


def csrf_of(browser: TestClient) -> str:
    token = browser.get("/api/me").json()["csrf_token"]
    assert isinstance(token, str)
    assert len(token) >= 40
    return token


def test_cookie_api_write_without_token_is_refused(platform: Platform) -> None:
    browser = platform.browser(platform.user("alice"))
    response = browser.post("/api/wikis", json={"slug": "notes"})
    assert response.status_code == 403
    assert response.json()["error"] == "csrf_failed"
    assert browser.get("/api/wikis").json() == []  # nothing was created


def test_cookie_api_write_with_token_passes(platform: Platform) -> None:
    browser = platform.browser(platform.user("alice"))
    response = browser.post("/api/wikis", json={"slug": "notes"}, headers={"X-CSRF-Token": csrf_of(browser)})
    assert response.status_code == 201, response.text


def test_token_is_bound_to_the_session(platform: Platform) -> None:
    alice = platform.user("alice")
    first, second = platform.browser(alice), platform.browser(alice)
    stolen = csrf_of(first)
    assert stolen != csrf_of(second)
    response = second.post("/api/wikis", json={"slug": "notes"}, headers={"X-CSRF-Token": stolen})
    assert response.status_code == 403


@pytest.mark.parametrize(
    "headers",
    [
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},  # a wiki host is a sibling subdomain serving user content
        {"Origin": "http://evil.example"},
        {"Origin": "http://notes.localhost:8080"},
    ],
)
def test_cross_origin_requests_are_refused_even_with_the_token(
    platform: Platform, headers: dict[str, str]
) -> None:
    browser = platform.browser(platform.user("alice"))
    token = csrf_of(browser)
    response = browser.post("/api/wikis", json={"slug": "notes"}, headers={"X-CSRF-Token": token, **headers})
    assert response.status_code == 403
    assert response.json()["error"] == "csrf_failed"


def test_same_origin_browser_headers_pass(platform: Platform) -> None:
    browser = platform.browser(platform.user("alice"))
    headers = {
        "X-CSRF-Token": csrf_of(browser),
        "Origin": "http://localhost:8080",
        "Sec-Fetch-Site": "same-origin",
    }
    assert browser.post("/api/wikis", json={"slug": "notes"}, headers=headers).status_code == 201


def test_bearer_needs_no_csrf_token(platform: Platform) -> None:
    alice = platform.user("alice")
    response = platform.client.post(
        "/api/wikis",
        json={"slug": "notes"},
        headers={**platform.bearer(alice), "Sec-Fetch-Site": "cross-site"},
    )
    assert response.status_code == 201


def test_html_forms_need_the_hidden_field(platform: Platform) -> None:
    browser = platform.browser(platform.user("alice"))
    page = browser.get("/app")
    assert page.status_code == 200
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match
    refused = browser.post("/app/wikis", data={"slug": "notes"})
    assert refused.status_code == 403
    assert "CSRF" in refused.text
    assert refused.headers["content-type"].startswith("text/html")
    done = browser.post("/app/wikis", data={"slug": "notes", "csrf_token": match.group(1)})
    assert done.status_code == 303
    assert done.headers["location"] == "http://localhost:8080/app/wikis/notes"


def test_safe_methods_are_not_checked(platform: Platform) -> None:
    browser = platform.browser(platform.user("alice"))
    assert browser.get("/api/wikis", headers={"Sec-Fetch-Site": "cross-site"}).status_code == 200
