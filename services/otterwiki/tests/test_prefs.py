"""Per-wiki Otterwiki settings: seeded private, changeable by the owner where it makes sense, never able to open
the wiki, and seen by every worker once saved."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from services.otterwiki.tests.support import World
from wikibot_otterwiki import prefs
from wikibot_otterwiki.main import create_app
from wikibot_shared.verify import LocalKeys

APP_FORM = {
    "site_name": "Renamed Here",
    "site_description": "Notes about otters",
    "site_lang": "de",
    "robots_txt": "allow",
    "home_page": "",
    "not_found_page": "",
    "server_name": "evil.example",
    "update_preferences": "Save Preferences",
}


@pytest.fixture
def notes(world: World) -> World:
    world.wiki("notes", "olive", name="Olive's Notes")
    world.grant("notes", "eddie", "editor")
    return world


def settings_db(world: World, slug: str = "notes") -> Path:
    return world.settings.wikis_dir / slug / "otterwiki.db"


def rows(world: World, slug: str = "notes") -> dict[str, str]:
    with sqlite3.connect(settings_db(world, slug)) as conn:
        return dict(conn.execute("select name, value from preferences").fetchall())


def write_row(world: World, name: str, value: str) -> None:
    """Whoever writes it (a bug, a restored backup, a hand edit): a row straight into the settings database."""
    state = world.states().get("notes")
    with sqlite3.connect(settings_db(world)) as conn:
        conn.execute("insert or replace into preferences (name, value) values (?, ?)", (name, value))
    world.states().touch(state)


def test_a_new_wiki_is_seeded_private(notes: World) -> None:
    assert notes.browser("olive").get("notes", "/").status_code == 200
    seeded = rows(notes)
    assert seeded["READ_ACCESS"] == seeded["WRITE_ACCESS"] == seeded["ATTACHMENT_ACCESS"] == "APPROVED"
    assert seeded["DISABLE_REGISTRATION"] == "True"
    assert seeded["RETAIN_PAGE_NAME_CASE"] == "True"
    assert seeded["ROBOTS_TXT"] == "disallow"


def test_the_owner_sets_the_wikis_look_but_not_its_name_or_host(notes: World) -> None:
    olive = notes.browser("olive")
    saved = olive.post("notes", "/-/admin", APP_FORM, csrf_from="/-/admin")
    assert saved.status_code == 302
    page = olive.get("notes", saved.headers["Location"])
    assert "name is set in Wikibot (Wiki settings)" in page.text  # a notice, not a silent no-op
    home = notes.browser("eddie").get("notes", "/Home")
    assert "Notes about otters" in home.text
    assert '<html lang="de"' in home.text
    assert "Olive&#39;s Notes" in home.text
    assert "Renamed Here" not in home.text
    assert notes.states().get("notes").config["SERVER_NAME"] is None  # pinned: the wiki stays on its own host
    assert home.status_code == 200


def test_the_platforms_name_for_the_wiki_shows_at_once(notes: World) -> None:
    olive = notes.browser("olive")
    olive.get("notes", "/")
    builds = notes.states().builds
    notes.update_wiki("notes", display_name="Brand New Name")
    assert "Brand New Name" in olive.get("notes", "/").text
    assert notes.states().builds == builds


def test_editors_cannot_change_preferences(notes: World) -> None:
    eddie = notes.browser("eddie")
    token = eddie.csrf("notes")
    response = eddie.client.post(
        "/-/admin",
        base_url="http://notes.localhost:8080",
        data={**APP_FORM, "csrf_token": token},
    )
    assert response.status_code == 403
    assert "SITE_DESCRIPTION" not in rows(notes)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("READ_ACCESS", "ANONYMOUS"),
        ("WRITE_ACCESS", "ANONYMOUS"),
        ("GIT_WEB_SERVER", "True"),
        ("GIT_REMOTE_PUSH_ENABLED", "True"),
        ("GIT_REMOTE_PUSH_URL", "git@evil.example:x.git"),
        ("RETAIN_PAGE_NAME_CASE", "False"),
        ("HTML_EXTRA_HEAD", "<script>alert(1)</script>"),
        ("RENDERER_HTML_ALLOWLIST", "script"),
        ("SITE_NAME", "Sneaky"),
    ],
)
def test_no_settings_row_opens_the_wiki_or_reaches_outside(notes: World, name: str, value: str) -> None:
    olive = notes.browser("olive")
    assert olive.get("notes", "/Home").status_code == 200
    write_row(notes, name, value)
    config = notes.states().get("notes").config
    assert config[name] == {**prefs.PINNED, "SITE_NAME": "Olive's Notes"}[name]
    anonymous = notes.browser()
    assert anonymous.get("notes", "/Home").status_code == 302  # still private
    assert anonymous.get("notes", "/.git/info/refs?service=git-upload-pack").status_code == 302
    olive = notes.browser("olive")
    assert olive.get("notes", "/.git/info/refs?service=git-upload-pack").status_code == 404
    assert olive.save("notes", "Mixed Case Page", "# Mixed\n").status_code == 302
    assert "Mixed Case Page.md" in notes.git("notes", "ls-files").splitlines()
    assert "<script>alert(1)</script>" not in olive.get("notes", "/Home").text


def test_permission_and_registration_pages_change_nothing(notes: World) -> None:
    olive = notes.browser("olive")
    form = {"READ_access": "ANONYMOUS", "WRITE_access": "ANONYMOUS", "disable_registration": "False"}
    response = olive.post("notes", "/-/admin/permissions_and_registration", form, csrf_from="/-/admin")
    assert response.status_code == 200
    assert "People and permissions" in response.text
    assert "http://localhost:8080/app/wikis/notes#members" in response.text
    assert rows(notes)["READ_ACCESS"] == "APPROVED"
    git = olive.get("notes", "/-/admin/repository_management")
    assert "http://notes.localhost:8080/repo.git" in git.text
    assert "Mail" in olive.get("notes", "/-/admin/mail_preferences").text


def test_a_setting_saved_in_one_worker_is_seen_by_the_others(notes: World) -> None:
    """Two app instances in one process stand for two Gunicorn workers: separate caches, one data volume."""
    second = create_app(notes.settings, keys=LocalKeys(notes.keys))
    try:
        olive = notes.browser("olive")
        other_worker = notes.browser("eddie")
        other_worker.client = type(other_worker.client)(second)
        assert "Notes about otters" not in other_worker.get("notes", "/Home").text  # cached there now
        assert olive.post("notes", "/-/admin", APP_FORM, csrf_from="/-/admin").status_code == 302
        assert "Notes about otters" in other_worker.get("notes", "/Home").text
        assert second.services.states.builds == 1
    finally:
        second.services.states.clear()
        second.engine.dispose()
        second.redis.close()


def test_robots_follow_visibility(notes: World) -> None:
    olive = notes.browser("olive")
    olive.post("notes", "/-/admin", APP_FORM, csrf_from="/-/admin")
    assert olive.get("notes", "/robots.txt").text == "User-agent: *\nDisallow: /"
    notes.update_wiki("notes", is_public=True)
    assert notes.browser().get("notes", "/robots.txt").text == "User-agent: *\nAllow: /"


def test_owner_preferences_are_filtered_and_converted() -> None:
    kept = prefs.owner_preferences(
        {
            "hide_logo": "True",
            "SITE_LANG": "fr",
            "READ_ACCESS": "ANONYMOUS",
            "SIDEBAR_MENUTREE_IGNORE_CASE": "no",
        }
    )
    assert kept == {"HIDE_LOGO": True, "SITE_LANG": "fr", "SIDEBAR_MENUTREE_IGNORE_CASE": False}
    overlay = prefs.overlay(kept, secret_key="k", site_name="N", is_public=False, max_upload=5)
    assert overlay["SITE_NAME"] == "N"
    assert overlay["ROBOTS_TXT"] == "disallow"
    assert overlay["SECRET_KEY"] == overlay["WTF_CSRF_SECRET_KEY"] == "k"
    assert prefs.wiki_secret(b"m", "a") != prefs.wiki_secret(b"m", "b")
