"""The landing page and the dashboard (``ui/pages.py``) over HTTP, as a browser without JavaScript sends forms;
Chromium flows are in test_browser.py."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

from services.platform.tests.support import Platform, make, post_form
from wikibot_shared.models import UserSession


def test_signed_out_pages_redirect_to_sign_in_with_return_to(platform: Platform) -> None:
    response = platform.client.get("/app/wikis/notes?x=1")
    assert response.status_code == 303
    location = urlsplit(response.headers["location"])
    assert location.path == "/auth/login"
    assert parse_qs(location.query)["return_to"] == ["http://localhost:8080/app/wikis/notes?x=1"]
    landing = platform.client.get("/")
    assert landing.status_code == 200
    assert "Sign in" in landing.text
    assert landing.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in landing.headers["content-security-policy"]


OUR_URL = re.compile(r"^http://([a-z0-9-]+\.)?localhost:8080(/|$)")


def shown_urls(page: str) -> list[str]:
    """Every address a page shows or links to on our domain (external sites such as a PDS example excluded)."""
    text = html.unescape(re.sub(r"</?em>", "", page))
    found = re.findall(r"https?://[^\s<>\"'`]+", text)
    return [url for url in found if "localhost" in url or "wikibot" in url.lower()]


def test_every_address_the_pages_show_is_the_public_url(platform: Platform) -> None:
    """With the default setup (http, port 8080) an address without the port, or with https, is wrong."""
    landing = platform.client.get("/").text
    assert "http://your-wiki.localhost:8080" in landing
    assert "claude mcp add --transport http notes http://notes.localhost:8080/mcp" in landing
    dashboard = platform.browser(platform.user("alice")).get("/app").text
    assert "the wiki will live at\n    <code>http://<em>name</em>.localhost:8080</code>" in dashboard
    for page in (landing, dashboard):
        urls = shown_urls(page)
        assert urls
        for url in urls:
            assert OUR_URL.match(url), url


def test_ended_session_cookie_redirects_and_is_cleared(platform: Platform) -> None:
    alice = platform.user("alice")
    browser = platform.browser(alice)
    assert browser.get("/app").status_code == 200
    with platform.app.state.db() as db:
        for row in db.query(UserSession).all():
            row.revoked_at = datetime.now(UTC)
        db.commit()
    response = browser.get("/app")
    assert response.status_code == 303
    assert response.headers["set-cookie"].startswith('wikibot_session=""')
    assert "Max-Age=0" in response.headers["set-cookie"]


def test_dashboard_create_and_settings_page(platform: Platform) -> None:
    alice = platform.user("alice")
    browser = platform.browser(alice)
    page = browser.get("/app")
    assert "You have no wikis yet" in page.text
    assert page.headers["cache-control"] == "no-store"
    status, text = post_form(
        browser, "/app", "/app/wikis", {"slug": "notes", "display_name": "Team Notes", "visibility": "public"}
    )
    assert status == 303
    assert "Created Team Notes" in text
    assert "claude mcp add --transport http notes http://notes.localhost:8080/mcp" in text
    assert (
        'claude mcp add --transport http notes http://notes.localhost:8080/mcp --header "Authorization: Bearer YOUR_TOKEN"'
        in text
    )
    assert "git clone http://notes.localhost:8080/repo.git notes" in text
    assert "you are owner" in text
    dashboard = html.unescape(browser.get("/app").text)
    assert "Team Notes" in dashboard
    assert "public" in dashboard


def test_create_errors_are_shown_on_the_form_with_the_right_status(platform: Platform) -> None:
    alice = platform.user("alice")
    browser = platform.browser(alice)
    status, text = post_form(browser, "/app", "/app/wikis", {"slug": "Bad Name", "display_name": "X"})
    assert status == 400
    assert "lowercase letters" in text
    assert 'value="Bad Name"' in text  # what was typed stays
    make(platform, alice, "taken")
    status, text = post_form(browser, "/app", "/app/wikis", {"slug": "taken"})
    assert status == 409
    assert "is taken" in text


def test_the_mcp_icons_are_served_to_anyone_as_svg(platform: Platform) -> None:
    """The MCP server lists these URLs as its own and its tools' icons (wikibot_mcp.tools.declare.Icons)."""
    for name in ("wikibot", "read", "write", "destructive"):
        icon = platform.client.get(f"/app/static/icons/{name}.svg")
        assert icon.status_code == 200, name
        assert icon.headers["content-type"] == "image/svg+xml"
        assert icon.text.startswith("<svg xmlns=")
    assert platform.client.get("/app/static/icons/delete.svg").status_code == 404
