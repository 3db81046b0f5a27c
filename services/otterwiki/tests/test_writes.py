"""Writes through the UI: one commit each, authored by the person; the embedder told; the wiki's size recorded;
the repository lock held; lapsed wikis and tier limits refused with a clear page and nothing written."""

from __future__ import annotations

import io
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from services.otterwiki.tests.support import Browser, World, make_world
from tests.support.servers import free_port
from wikibot_otterwiki.context import WikiRequest, bound
from wikibot_shared import locks
from wikibot_shared.acl import wiki_access
from wikibot_shared.errors import Forbidden
from wikibot_shared.locks import repo_lock
from wikibot_shared.migrate import upgrade
from wikibot_shared.tiers import DEFAULT_TIERS, repo_usage
from wikibot_shared.verify import Principal

EDDIE = "eddie.test <did:plc:eddie@did.invalid>"


@pytest.fixture
def notes(world: World) -> World:
    world.wiki("notes", "olive")
    world.grant("notes", "eddie", "editor")
    world.grant("notes", "vera", "viewer")
    return world


@pytest.fixture
def limited(tmp_path: Path, redis_url: str, redis_client: redis.Redis) -> Iterator[Callable[[str], World]]:
    """A deployment whose tiers come from ``TIERS_JSON``, with the wiki "notes" (owner olive, editor eddie)."""
    made: list[World] = []

    def make(tiers: str) -> World:
        url = f"sqlite:///{tmp_path / 'wikibot.db'}"
        upgrade(url)
        world = make_world(tmp_path, url, redis_url, tiers_json=tiers)
        made.append(world)
        world.wiki("notes", "olive")
        world.grant("notes", "eddie", "editor")
        return world

    yield make
    for world in made:
        world.close()


def clean(world: World, slug: str = "notes") -> bool:
    return world.git(slug, "status", "--porcelain", "--untracked-files=all") == ""


def test_save_is_one_commit_by_the_person_with_a_notice_and_new_size(notes: World) -> None:
    eddie = notes.browser("eddie")
    response = eddie.save("notes", "Setup Guide", "# Setup Guide\n\nInstall it.\n", "add the guide")
    assert response.status_code == 302
    assert notes.log("notes")[0] == f"{EDDIE}|{EDDIE}|add the guide"
    assert notes.git("notes", "ls-files").splitlines() == [
        "Home.md",
        "Setup Guide.md",
    ]  # RETAIN_PAGE_NAME_CASE
    head = notes.git("notes", "rev-parse", "HEAD").strip()
    (notice,) = notes.notices()
    assert notice["wiki"] == "notes"
    assert notice["source"] == "ui"
    assert notice["commit"] == head
    assert notice["paths"] == "Setup Guide.md"
    usage = repo_usage(notes.repo("notes"))
    row = notes.row("notes")
    assert (row.page_count, row.bytes) == (2, usage.bytes) == (2, row.bytes)
    assert usage.pages == 2
    assert clean(notes)


def test_unchanged_save_commits_nothing(notes: World) -> None:
    eddie = notes.browser("eddie")
    content = notes.git("notes", "show", "HEAD:Home.md")
    before = notes.log("notes")
    assert eddie.save("notes", "Home", content).status_code == 302
    assert notes.log("notes") == before
    assert notes.notices() == []


def test_rename_delete_upload_revert_are_commits_by_the_person(notes: World) -> None:
    eddie = notes.browser("eddie")
    eddie.save("notes", "Draft", "# Draft\n\nSee [[Home]].\n", "draft")
    renamed = eddie.post(
        "notes", "/Draft/rename", {"new_pagename": "Team/Plan", "message": "move"}, csrf_from="/Draft/rename"
    )
    assert renamed.status_code == 302
    assert "Team/Plan.md" in notes.git("notes", "ls-files")
    upload = eddie.upload("notes", "Team/Plan", "notes.txt", b"data", "attach")
    assert upload.status_code == 302
    deleted = eddie.post(
        "notes",
        "/Team/Plan/delete",
        {"message": "drop", "recursive": "recursive"},
        csrf_from="/Team/Plan/delete",
    )
    assert deleted.status_code == 302
    assert notes.git("notes", "ls-files").splitlines() == ["Home.md"]
    dropped = notes.git("notes", "rev-parse", "--short=6", "HEAD").strip()
    reverted = eddie.post(
        "notes", f"/-/revert/{dropped}", {"message": "undo"}, csrf_from=f"/-/revert/{dropped}"
    )
    assert reverted.status_code == 302
    assert "Team/Plan.md" in notes.git("notes", "ls-files")
    log = notes.log("notes")
    assert [entry.split("|")[2] for entry in log[:5]] == ["undo", "drop", "attach", "move", "draft"]
    assert all(entry.startswith(f"{EDDIE}|{EDDIE}|") for entry in log[:5])
    paths = [set(n["paths"].split("\n")) for n in notes.notices()]
    assert paths[0] == {"Draft.md"}
    assert "Team/Plan.md" in paths[1]
    assert paths[2] == {"Team/Plan/notes.txt"}
    assert "Team/Plan.md" in paths[3]
    assert "Team/Plan.md" in paths[4]
    assert notes.row("notes").page_count == 2
    assert clean(notes)


def refused_the_lock(thread: threading.Thread) -> bool:
    """Whether ``thread`` is waiting for the repository lock: lined up behind another writer of this process
    (``locks._Line.enter``) or blocked on another process's flock (``locks._flock``) — seen without sleeping for a
    guessed while."""
    waiting = {locks._Line.enter.__code__, locks._flock.__code__}
    frame = sys._current_frames().get(thread.ident or 0)
    while frame is not None:
        if frame.f_code in waiting:
            return True
        frame = frame.f_back
    return False


def test_a_write_waits_for_the_repository_lock(notes: World) -> None:
    eddie = notes.browser("eddie")
    token = eddie.csrf("notes", "/Home?edit")
    results: list[int] = []

    def save() -> None:
        response = eddie.client.post(
            "/Home/save",
            base_url="http://notes.localhost:8080",
            data={"content": "# Home\n\nlocked\n", "commit": "after the lock", "csrf_token": token},
        )
        results.append(response.status_code)

    with repo_lock(notes.settings.wikis_dir, "notes"):  # another writer (mcp, git push) holds the repository
        thread = threading.Thread(target=save)
        thread.start()
        deadline = time.monotonic() + 10
        while not refused_the_lock(thread):
            assert results == [], "the save went ahead while the lock was held"
            assert time.monotonic() < deadline, "the save never asked for the lock"
            time.sleep(0.005)
        assert results == []
        assert "after the lock" not in notes.log("notes")[0]
    thread.join(10)
    assert results == [302]
    assert notes.log("notes")[0].endswith("|after the lock")


def test_the_commit_stands_when_the_embedder_cannot_be_told(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'wikibot.db'}"
    upgrade(url)
    world = make_world(tmp_path, url, f"redis://127.0.0.1:{free_port()}/0")
    try:
        world.wiki("notes", "olive")
        response = world.browser("olive").save("notes", "Home", "# Home\n\nstill saved\n", "offline")
        assert response.status_code == 302
        assert world.log("notes")[0].endswith("|offline")
        assert world.row("notes").page_count == 1
    finally:
        world.close()


# -- lapsed -------------------------------------------------------------------------------------------------
def test_a_lapsed_wiki_reads_but_refuses_every_write_with_a_clear_page(notes: World) -> None:
    eddie, olive, vera = notes.browser("eddie"), notes.browser("olive"), notes.browser("vera")
    token = eddie.csrf("notes", "/Home?edit")
    notes.update_wiki("notes", payment_status="lapsed")
    before = notes.log("notes")
    page = eddie.get("notes", "/Home")
    assert page.status_code == 200
    assert "Welcome to notes." in page.text
    assert "?edit" not in page.text  # no edit button
    for browser in (eddie, olive):
        editor = browser.get("notes", "/Home?edit")
        assert editor.status_code == 403
        assert "This wiki is read-only" in editor.text
        assert "lapsed" in editor.text
    assert "Restore the subscription" in olive.get("notes", "/Home?edit").text
    saved = eddie.client.post(
        "/Home/save",
        base_url="http://notes.localhost:8080",
        headers={"Accept": "text/html"},
        data={"content": "# Home\n\nlapsed write\n", "commit": "x", "csrf_token": token},
    )
    assert saved.status_code == 403
    assert "This wiki is read-only" in saved.text
    upload = eddie.client.post(
        "/Home/attachments",
        base_url="http://notes.localhost:8080",
        data={"file": (io.BytesIO(b"x"), "a.txt"), "csrf_token": token},
        content_type="multipart/form-data",
    )
    assert upload.status_code == 403
    assert vera.get("notes", "/Home").status_code == 200
    assert olive.get("notes", "/-/admin").status_code == 200  # the owner keeps the wiki's look
    assert notes.log("notes") == before
    assert clean(notes)
    assert notes.notices() == []
    notes.update_wiki("notes", payment_status="active")
    assert eddie.save("notes", "Home", "# Home\n\nback\n", "restored").status_code == 302


# -- tiers --------------------------------------------------------------------------------------------------
def test_page_limit_refuses_the_extra_page_and_leaves_nothing_behind(limited: Callable[[str], World]) -> None:
    world = limited('{"free": {"pages_per_wiki": 2}}')
    eddie = world.browser("eddie")
    assert eddie.save("notes", "Second", "# Second\n", "second").status_code == 302
    before = world.log("notes")
    refused = eddie.save("notes", "Third", "# Third\n", "third")
    assert refused.status_code == 413
    assert "does not fit the wiki" in refused.text
    assert "allows 2 pages" in refused.text
    assert "Nothing was saved" in refused.text
    assert world.log("notes") == before
    assert not (world.repo("notes") / "Third.md").exists()
    assert clean(world)
    assert eddie.save("notes", "Second", "# Second\n\nlonger now\n", "edit").status_code == 302
    assert len(world.notices()) == 2


def test_size_limit_refuses_growth_but_allows_shrinking(limited: Callable[[str], World]) -> None:
    world = limited('{"free": {"bytes_per_wiki": 300}}')
    eddie = world.browser("eddie")
    before = world.log("notes")
    refused = eddie.save("notes", "Home", "# Home\n\n" + "x" * 400 + "\n", "too big")
    assert refused.status_code == 413
    assert world.log("notes") == before
    assert clean(world)
    world.update_wiki("notes", tier="tiny")  # an unknown tier counts as free; shrink an over-size wiki:
    (world.repo("notes") / "Home.md").write_text("# Home\n\n" + "y" * 500 + "\n")
    world.git("notes", "commit", "-qam", "grown elsewhere", "--author", "x <x@x>")
    assert eddie.save("notes", "Home", "# Home\n\nsmall\n", "shrink").status_code == 302
    assert world.log("notes")[0].endswith("|shrink")


def test_attachment_limit_refuses_the_file_and_removes_it(limited: Callable[[str], World]) -> None:
    world = limited('{"free": {"attachment_bytes": 10}}')
    eddie = world.browser("eddie")
    before = world.log("notes")
    refused = eddie.upload("notes", "Home", "big.bin", b"x" * 11)
    assert refused.status_code == 413
    assert "attachment is 11 bytes" in refused.text
    assert world.log("notes") == before
    assert not (world.repo("notes") / "Home" / "big.bin").exists()
    assert clean(world)
    ok = eddie.upload("notes", "Home", "ok.bin", b"x" * 10)
    assert ok.status_code == 302
    assert "Home/ok.bin" in world.git("notes", "ls-files")


def test_a_request_larger_than_the_wiki_may_hold_is_refused_before_it_is_read(
    limited: Callable[[str], World],
) -> None:
    world = limited('{"free": {"bytes_per_wiki": 1000}}')
    eddie = world.browser("eddie")
    huge = FileStorage(io.BytesIO(b"x" * (2 * 1024 * 1024)), filename="huge.bin")
    fields = {"file": huge, "csrf_token": eddie.csrf("notes")}
    boundary, body = encode_multipart(fields)  # in memory: the test client would leave a temp file open
    refused = eddie.client.post(
        "/Home/attachments",
        base_url="http://notes.localhost:8080",
        headers={"Accept": "text/html"},
        data=body,
        content_type=f"multipart/form-data; boundary={boundary}",
    )
    assert refused.status_code == 413
    assert "too large" in refused.text
    assert clean(world)


def test_viewer_cannot_reach_the_storage_even_through_a_stray_write_path(notes: World) -> None:
    """Defence in depth: the storage guard checks the live role itself."""
    vera = Browser(notes, notes.token("vera"))
    assert vera.get("notes", "/Home").status_code == 200
    middleware = notes.middleware()
    state = notes.states().get("notes")
    with notes.db() as db:
        access = wiki_access(db, "notes", "did:plc:vera")
    request = WikiRequest(
        slug="notes",
        access=access,
        principal=Principal(did="did:plc:vera", method="session", handle="vera.test"),
        tier=DEFAULT_TIERS["free"],
        state=state,
        services=middleware.services,
    )
    with bound(request), pytest.raises(Forbidden):
        state.storage.store("Home.md", "# vandal\n", message="x")
    assert clean(notes)
    assert "vandal" not in notes.git("notes", "show", "HEAD:Home.md")
