"""The /app pages over HTTP (forms as a browser without JavaScript sends them); Chromium flows are in
test_ui_browser.py."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

from fastapi.testclient import TestClient

from wikibot_shared import storage
from wikibot_shared.models import UserSession

from .conftest import Platform
from .test_api_wikis import make, share


def csrf(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, "no CSRF field on the page"
    return match.group(1)


def post(browser: TestClient, page_url: str, action: str, data: dict[str, str]) -> tuple[int, str]:
    """Submit a form found on ``page_url`` like a browser would: read the page, post, follow the redirect."""
    page = browser.get(page_url)
    response = browser.post(action, data={**data, "csrf_token": csrf(page.text)})
    if response.status_code == 303:
        location = response.headers["location"]
        follow = browser.get(urlsplit(location).path)
        return 303, html.unescape(follow.text)
    return response.status_code, html.unescape(response.text)


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
    assert (
        'wikibot_session=""' in response.headers["set-cookie"]
        or "Max-Age=0" in response.headers["set-cookie"]
    )


def test_dashboard_create_and_settings_page(platform: Platform) -> None:
    alice = platform.user("alice")
    browser = platform.browser(alice)
    page = browser.get("/app")
    assert "You have no wikis yet" in page.text
    assert page.headers["cache-control"] == "no-store"
    status, text = post(
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
    status, text = post(browser, "/app", "/app/wikis", {"slug": "Bad Name", "display_name": "X"})
    assert status == 400
    assert "lowercase letters" in text
    assert 'value="Bad Name"' in text  # what was typed stays
    make(platform, alice, "taken")
    status, text = post(browser, "/app", "/app/wikis", {"slug": "taken"})
    assert status == 409
    assert "is taken" in text


def test_members_tokens_and_delete_through_forms(platform: Platform) -> None:
    alice, bob = platform.user("alice"), platform.user("bob")
    make(platform, alice)
    browser = platform.browser(alice)
    page = "/app/wikis/notes"
    status, text = post(browser, page, f"{page}/members", {"who": "@bob.test", "role": "viewer"})
    assert status == 303
    assert "Added @bob.test as viewer" in text
    status, text = post(browser, page, f"{page}/members", {"who": "nobody.example", "role": "viewer"})
    assert status == 404
    assert "ask them to sign in once" in text
    status, text = post(browser, page, f"{page}/members/{bob}/role", {"role": "editor"})
    assert status == 303
    assert "is now editor" in text
    status, text = post(
        browser, page, f"{page}/tokens", {"name": "laptop", "access": "write", "expires_in_days": ""}
    )
    assert status == 303
    secret = re.search(r'value="(wbp_[^"]+)"', text)
    assert secret, "the new token is shown"
    assert f'--header "Authorization: Bearer {secret.group(1)}"' in text
    again = html.unescape(browser.get(page).text)
    assert secret.group(1) not in again  # shown once
    assert "laptop" in again
    assert "never" in again
    token_id = re.search(r"/tokens/([0-9a-f]+)/revoke", again)
    assert token_id
    status, text = post(browser, page, f"{page}/tokens/{token_id.group(1)}/revoke", {})
    assert status == 303
    assert "Token revoked" in text
    assert "No tokens." in text
    status, text = post(browser, page, f"{page}/members/{bob}/remove", {})
    assert status == 303
    assert "Collaborator removed" in text
    status, text = post(
        browser, page, f"{page}/settings", {"display_name": "Renamed", "visibility": "private"}
    )
    assert status == 303
    assert "<h1>Renamed</h1>" in text
    status, text = post(browser, page, f"{page}/delete", {"confirm": "wrong"})
    assert status == 400
    assert "type the wiki's name (notes)" in text
    assert storage.wiki_paths(platform.settings.wikis_dir, "notes").repo.exists()
    status, text = post(browser, page, f"{page}/delete", {"confirm": "notes"})
    assert status == 303
    assert "Deleted notes." in text
    assert not storage.wiki_paths(platform.settings.wikis_dir, "notes").root.exists()


def test_viewer_sees_the_wiki_but_no_owner_controls(platform: Platform) -> None:
    alice, bob = platform.user("alice"), platform.user("bob")
    make(platform, alice)
    share(platform, "notes", bob, "viewer")
    text = platform.browser(bob).get("/app/wikis/notes").text
    assert "you are viewer" in text
    assert "Add collaborator" not in text
    assert "Delete wiki" not in text
    assert 'value="write"' not in text  # a viewer cannot ask for a write token
    assert "Leave" in text


def test_strangers_get_a_403_page_and_unknown_wikis_a_404_page(platform: Platform) -> None:
    alice, eve = platform.user("alice"), platform.user("eve")
    make(platform, alice)
    browser = platform.browser(eve)
    refused = browser.get("/app/wikis/notes")
    assert refused.status_code == 403
    assert "Not allowed" in refused.text
    missing = browser.get("/app/wikis/nothing")
    assert missing.status_code == 404
    assert "Not found" in missing.text
    forged = browser.post(
        "/app/wikis/notes/delete", data={"confirm": "notes", "csrf_token": csrf(browser.get("/app").text)}
    )
    assert forged.status_code == 403
    assert storage.wiki_paths(platform.settings.wikis_dir, "notes").repo.exists()


def test_account_page_export_and_delete(platform: Platform) -> None:
    alice = platform.user("alice")
    make(platform, alice)
    browser = platform.browser(alice)
    page = browser.get("/app/account")
    assert "alice.test" in page.text
    assert "free" in page.text
    export = browser.get("/app/account/export")
    assert export.status_code == 200
    assert export.headers["content-type"] == "application/x-tar"
    status, text = post(browser, "/app/account", "/app/account/delete", {"confirm": "bob"})
    assert status == 400
    assert "type your username" in text
    response = browser.post(
        "/app/account/delete", data={"confirm": "alice", "csrf_token": csrf(browser.get("/app/account").text)}
    )
    assert response.status_code == 303
    assert response.headers["location"] == "http://localhost:8080/?deleted=1"
    assert browser.get("/app").status_code == 303  # signed out


def test_admin_page(platform: Platform) -> None:
    alice = platform.user("alice")
    browser = platform.browser(alice)
    assert browser.get("/app/admin").status_code == 403
    assert "/app/admin" not in browser.get("/app").text
    platform.settings.admin_dids_raw = alice
    page = browser.get("/app/admin")
    assert page.status_code == 200
    assert re.search(r'id="stat-users">1<', page.text)
    assert "embedder" in page.text
    assert "redis" in page.text
    assert "/app/admin" in browser.get("/app").text
