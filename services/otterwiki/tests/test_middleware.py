"""Who sees what: anonymous / stranger / viewer / editor / owner on a private and a public wiki, through the real
middleware and real Otterwiki, on real repositories; spoofed identity headers; stale and forged cookies."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from werkzeug.test import TestResponse

from services.otterwiki.tests.support import Browser, World
from wikibot_shared.keys import generate_es256
from wikibot_shared.tokens import SESSION_COOKIE, issue_session

VISITORS = ("anonymous", "stranger", "viewer", "editor", "owner")


@pytest.fixture
def site(any_db_world: World) -> World:
    world = any_db_world
    for slug, public in (("secret", False), ("open", True)):
        world.wiki(
            slug,
            "olive",
            public=public,
            name=f"{slug.title()} Wiki",
            files={"Home.md": f"# Home\n\n{slug}-body\n"},
        )
        world.grant(slug, "eddie", "editor")
        world.grant(slug, "vera", "viewer")
    world.user("sam")
    return world


def visitor(world: World, who: str) -> Browser:
    name = {"anonymous": None, "stranger": "sam", "viewer": "vera", "editor": "eddie", "owner": "olive"}[who]
    return world.browser(name)


def is_sign_in(response: TestResponse, slug: str, path: str = "/") -> bool:
    if response.status_code != 302:
        return False
    location = urlsplit(response.headers["Location"])
    return (
        f"{location.scheme}://{location.netloc}{location.path}" == "http://localhost:8080/auth/login"
        and parse_qs(location.query)["return_to"] == [f"http://{slug}.localhost:8080{path}"]
    )


# -- reading ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("who", VISITORS)
@pytest.mark.parametrize("slug", ["secret", "open"])
def test_view_and_history(site: World, slug: str, who: str) -> None:
    browser = visitor(site, who)
    page, history = browser.get(slug, "/Home"), browser.get(slug, "/Home/history")
    if slug == "secret" and who == "anonymous":
        assert is_sign_in(page, slug, "/Home")
        assert is_sign_in(history, slug, "/Home/history")
        assert "secret-body" not in page.text
    elif slug == "secret" and who == "stranger":
        for response in (page, history):
            assert response.status_code == 403
            assert "This wiki is not yours" in response.text
            assert "sam.test" in response.text
            assert "secret-body" not in response.text
            assert "Secret Wiki" not in response.text
            assert "olive" not in response.text  # says whose wiki it is not, never whose it is
    else:
        assert page.status_code == 200, page.text[:300]
        assert "secret-body" in page.text if slug == "secret" else "open-body" in page.text
        assert f"{slug.title()} Wiki" in page.text  # site name = the wiki's display name
        assert history.status_code == 200
        assert "Create wiki" in history.text


@pytest.mark.parametrize("who", VISITORS)
@pytest.mark.parametrize("slug", ["secret", "open"])
def test_edit_and_save(site: World, slug: str, who: str) -> None:
    browser = visitor(site, who)
    editor = browser.get(slug, "/Home?edit")
    readable = slug == "open" or who not in ("anonymous", "stranger")
    writes = who in ("editor", "owner")
    before = site.log(slug)
    if writes:
        assert editor.status_code == 200
        assert "<textarea" in editor.text
        saved = browser.save(slug, "Home", f"# Home\n\nchanged by {who}\n", f"by {who}")
        assert saved.status_code == 302
        assert site.log(slug)[0] == f"{who_name(who)}.test <did:plc:{who_name(who)}@did.invalid>|" + (
            f"{who_name(who)}.test <did:plc:{who_name(who)}@did.invalid>|by {who}"
        )
        assert f"changed by {who}" in browser.get(slug, "/Home").text
        return
    if who == "anonymous":
        assert is_sign_in(editor, slug, "/Home?edit")
    elif not readable:
        assert editor.status_code == 403
        assert "This wiki is not yours" in editor.text
    else:
        assert editor.status_code == 403
        assert "which does not allow this" in editor.text
        assert "<textarea" not in editor.text
    if readable and who != "anonymous":
        attempt = browser.client.post(
            "/Home/save",
            base_url=f"http://{slug}.localhost:8080",
            data={"content": "vandalised", "commit": "x", "csrf_token": browser.csrf(slug, "/Home")},
        )
        assert attempt.status_code == 403
    assert site.log(slug) == before
    assert "vandalised" not in site.git(slug, "show", "HEAD:Home.md")


def who_name(who: str) -> str:
    return {"editor": "eddie", "owner": "olive", "viewer": "vera", "stranger": "sam"}[who]


@pytest.mark.parametrize("who", VISITORS)
@pytest.mark.parametrize("slug", ["secret", "open"])
def test_attachments(site: World, slug: str, who: str) -> None:
    browser = visitor(site, who)
    listing = browser.get(slug, "/Home/attachments")
    readable = slug == "open" or who not in ("anonymous", "stranger")
    if not readable:  # a private wiki: sign in first (anonymous), or not yours (a stranger)
        assert listing.status_code == (302 if who == "anonymous" else 403)
        return
    assert listing.status_code == 200
    if who == "anonymous":
        return
    upload = browser.upload(slug, "Home", "pic.png", b"\x89PNG fake image", "add pic")
    if who in ("editor", "owner"):
        assert upload.status_code == 302
        assert site.git(slug, "ls-files").splitlines() == ["Home.md", "Home/pic.png"]
        fetched = browser.get(slug, "/Home/a/pic.png")
        assert fetched.status_code == 200
        assert fetched.data == b"\x89PNG fake image"
    else:
        assert upload.status_code == 403
        assert site.git(slug, "ls-files").splitlines() == ["Home.md"]
        assert not (site.repo(slug) / "Home" / "pic.png").exists()


@pytest.mark.parametrize("who", VISITORS)
def test_admin_pages(site: World, who: str) -> None:
    browser = visitor(site, who)
    admin = browser.get("open", "/-/admin")
    people = browser.get("open", "/-/admin/user_management")
    account = browser.get("open", "/-/settings")
    if who == "anonymous":
        assert is_sign_in(admin, "open", "/-/admin")
        assert is_sign_in(people, "open", "/-/admin/user_management")
        assert is_sign_in(account, "open", "/-/settings")
        return
    assert account.status_code == 200
    assert f"{who_name(who)}.test" in account.text
    if who == "owner":
        assert admin.status_code == 200
        assert "Application Preferences" in admin.text
        assert people.status_code == 200
        assert "http://localhost:8080/app/wikis/open#members" in people.text
        assert "Collaborators" in account.text
    else:
        assert admin.status_code == 403
        assert people.status_code == 403
        assert "http://localhost:8080/app/wikis/open#members" not in account.text


def test_admin_of_a_private_wiki_is_closed_to_strangers(site: World) -> None:
    assert visitor(site, "stranger").get("secret", "/-/admin").status_code == 403
    assert is_sign_in(visitor(site, "anonymous").get("secret", "/-/admin"), "secret", "/-/admin")


# -- Otterwiki's own account pages are links to the platform ------------------------------------------------
def test_login_and_register_lead_to_the_platform(site: World) -> None:
    anonymous = visitor(site, "anonymous")
    login = anonymous.get("open", "/-/login?next=%2FHome%2Fhistory")
    assert is_sign_in(login, "open", "/Home/history")
    assert is_sign_in(anonymous.get("open", "/-/register"), "open", "/")
    assert is_sign_in(anonymous.get("open", "/-/lost_password"), "open", "/")
    assert is_sign_in(anonymous.get("open", "/-/login?next=https://evil.example/x"), "open", "/x")
    home = anonymous.get("open", "/Home")
    assert 'href="/-/login' in home.text  # Otterwiki's own "Login" link, which leads to the platform
    owner = visitor(site, "owner")
    assert owner.get("open", "/-/login?next=/Home").headers["Location"] == "/Home"


def test_logout_clears_the_wiki_hosts_cookie(site: World) -> None:
    owner = visitor(site, "owner")
    response = owner.get("secret", "/-/logout")
    assert response.status_code == 302
    assert response.headers["Location"] == "http://localhost:8080/app"
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=;")
    assert "Max-Age=0" in cookie


def test_git_server_and_pull_webhook_do_not_exist(site: World) -> None:
    owner = visitor(site, "owner")
    for path in ("/.git/info/refs?service=git-upload-pack", "/.git", "/-/api/v1/pull/abc"):
        assert owner.get("secret", path).status_code == 404, path
    assert owner.get("secret", "/-/housekeeping/security-check").status_code == 404


# -- identity headers are ours alone ------------------------------------------------------------------------
@pytest.mark.parametrize(
    "spoof",
    [
        {
            "X-Otterwiki-Name": "olive",
            "X-Otterwiki-Email": "did:plc:olive@did.invalid",
            "X-Otterwiki-Permissions": "READ,WRITE,UPLOAD,ADMIN",
        },
        {"x-otterwiki-permissions": "ADMIN"},
        {"X_Otterwiki_Permissions": "WRITE"},
    ],
)
def test_spoofed_identity_headers_are_ignored(site: World, spoof: dict[str, str]) -> None:
    anonymous = visitor(site, "anonymous")
    assert is_sign_in(anonymous.get("secret", "/Home", headers=dict(spoof)), "secret", "/Home")
    public_editor = anonymous.get("open", "/Home?edit", headers=dict(spoof))
    assert public_editor.status_code == 302  # to sign-in, not an editor
    assert anonymous.get("open", "/-/admin", headers=dict(spoof)).status_code == 302
    viewer = visitor(site, "viewer")
    assert viewer.get("secret", "/Home?edit", headers=dict(spoof)).status_code == 403
    assert viewer.get("secret", "/-/admin", headers=dict(spoof)).status_code == 403
    page = viewer.get("secret", "/Home", headers=dict(spoof))
    assert page.status_code == 200
    assert "?edit" not in page.text


# -- cookies that do not verify ------------------------------------------------------------------------------
def test_forged_cookie_is_anonymous_and_cleared(site: World) -> None:
    forged = issue_session(
        generate_es256(),
        issuer=site.settings.issuer,
        audience=site.settings.session_audience,
        did="did:plc:olive",
        sid="whatever",
        ttl=3600,
    )
    for token in (forged, "not-a-jwt", forged.rsplit(".", 1)[0] + ".AAAA"):
        browser = Browser(site, token)
        private = browser.get("secret", "/Home")
        assert is_sign_in(private, "secret", "/Home")
        assert any(c.startswith(f"{SESSION_COOKIE}=;") for c in private.headers.getlist("Set-Cookie"))
        public = browser.get("open", "/Home")
        assert public.status_code == 200
        assert "open-body" in public.text
        assert any(c.startswith(f"{SESSION_COOKIE}=;") for c in public.headers.getlist("Set-Cookie"))
        assert browser.get("open", "/Home?edit").status_code == 302


def test_revoked_and_expired_sessions_end_access_at_once(site: World) -> None:
    owner = visitor(site, "owner")
    assert owner.get("secret", "/Home").status_code == 200
    from datetime import UTC, datetime

    from wikibot_shared.models import UserSession

    with site.db() as db:
        row = db.get(UserSession, site.sessions["olive"])
        assert row is not None
        row.revoked_at = datetime.now(UTC)
        db.commit()
    assert is_sign_in(owner.get("secret", "/Home"), "secret", "/Home")
    expired = Browser(site, site.token("olive", ttl=-120))
    assert is_sign_in(expired.get("secret", "/Home"), "secret", "/Home")


def test_removed_collaborator_loses_access_on_the_next_request(site: World) -> None:
    editor = visitor(site, "editor")
    assert editor.get("secret", "/Home?edit").status_code == 200
    from sqlalchemy import delete

    from wikibot_shared.models import Acl

    with site.db() as db:
        db.execute(delete(Acl).where(Acl.grantee_did == "did:plc:eddie"))
        db.commit()
    assert editor.get("secret", "/Home").status_code == 403


def test_the_session_cookie_is_the_only_credential(site: World) -> None:
    """A bearer token sent to the UI is not looked at: the UI is for browsers."""
    token = site.token("olive")
    anonymous = visitor(site, "anonymous")
    response = anonymous.get("secret", "/Home", headers={"Authorization": f"Bearer {token}"})
    assert is_sign_in(response, "secret", "/Home")


# -- unknown wikis, caching ----------------------------------------------------------------------------------
def test_unknown_wiki_is_a_friendly_page_for_browsers_and_json_otherwise(site: World) -> None:
    browser = visitor(site, "owner")
    page = browser.get("nosuch", "/Home")
    assert page.status_code == 404
    assert page.headers["Content-Type"].startswith("text/html")
    assert "No wiki here" in page.text
    assert "nosuch" in page.text
    api = browser.client.get("/Home", base_url="http://nosuch.localhost:8080")
    assert api.status_code == 404
    assert api.json == {"error": "unknown_wiki", "message": api.json["message"]}
    reserved = browser.get("www", "/")
    assert reserved.status_code == 404
    assert "No wiki here" in reserved.text


def test_private_pages_are_never_stored_in_shared_caches(site: World) -> None:
    owner = visitor(site, "owner")
    private = owner.get("secret", "/Home")
    assert "private" in private.headers["Cache-Control"]
    assert "Cookie" in private.headers["Vary"]
    public = owner.get("open", "/Home")
    assert "private" not in public.headers.get("Cache-Control", "")


def test_wiki_row_without_repository_is_not_served(site: World) -> None:
    from wikibot_shared.models import Wiki

    with site.db() as db:
        db.add(Wiki(slug="pending", owner_did="did:plc:olive", display_name="P"))
        db.commit()
    response = visitor(site, "owner").get("pending", "/")
    assert response.status_code == 503
    assert "still being set up" in response.text
