"""Path rules in the Otterwiki UI: an editor limited to ``Agents/`` is offered editing only there; every write
(save, rename, delete, upload, revert) that would change a file outside is refused with the rule in words, and
nothing is written — HEAD unchanged, the working tree clean, no change notice."""

from __future__ import annotations

import html

import pytest

from services.otterwiki.tests.support import World
from wikibot_shared.models import Acl

FILES = {
    "Home.md": "# Home\n",
    "Agents/Plan.md": "# Plan\n\nThe plan.\n",
    "Team/Doc.md": "# Doc\n\nThe team's page.\n",
}
RULE = "you may write only under 'Agents/'"


@pytest.fixture
def notes(world: World) -> World:
    world.wiki("notes", "olive", files=FILES)
    world.grant("notes", "eddie", "editor")
    with world.db() as db:
        row = db.get(Acl, ("notes", world.user("eddie")))
        assert row is not None
        row.write_paths = ["Agents/"]
        db.commit()
    return world


def text(response: object) -> str:
    return html.unescape(response.text)  # type: ignore[attr-defined]


def untouched(world: World, head: str, notices: int) -> None:
    assert world.git("notes", "rev-parse", "HEAD").strip() == head
    assert world.git("notes", "status", "--porcelain", "--untracked-files=all") == ""
    assert len(world.notices()) == notices


def state(world: World) -> tuple[str, int]:
    return world.git("notes", "rev-parse", "HEAD").strip(), len(world.notices())


def test_editing_is_offered_inside_the_folders_only(notes: World) -> None:
    eddie = notes.browser("eddie")
    inside = eddie.get("notes", "/Agents/Plan")
    assert inside.status_code == 200
    assert 'href="/Agents/Plan?edit"' in inside.text
    outside = eddie.get("notes", "/Team/Doc")
    assert outside.status_code == 200  # reading stays per wiki
    assert "The team's page." in outside.text
    assert 'href="/Team/Doc?edit"' not in outside.text
    form = eddie.get("notes", "/Team/Doc/edit")
    assert form.status_code == 403
    assert "Outside the folders you may change" in form.text
    assert RULE in text(form)
    assert 'href="/Team/Doc?edit"' in notes.browser("olive").get("notes", "/Team/Doc").text  # the owner may


def test_saves_land_inside_and_are_refused_outside(notes: World) -> None:
    eddie = notes.browser("eddie")
    assert eddie.save("notes", "Agents/Plan", "# Plan\n\nRevised.\n").status_code == 302
    assert eddie.save("notes", "agents/New", "# New\n").status_code == 302  # the folder whatever its case
    head, notices = state(notes)
    for page in ("Team/Doc", "Team/New", "Home", "Agents"):
        refused = eddie.post("notes", f"/{page}/save", {"content": "x", "commit": "no"})
        assert refused.status_code == 403, page
        assert RULE in text(refused), page
    untouched(notes, head, notices)


def test_rename_delete_upload_outside_are_refused_with_nothing_written(notes: World) -> None:
    eddie = notes.browser("eddie")
    head, notices = state(notes)
    out = eddie.post(
        "notes",
        "/Agents/Plan/rename",
        {"new_pagename": "Team/Plan", "message": "m"},
        csrf_from="/Agents/Plan/rename",
    )
    assert out.status_code == 403
    assert RULE in text(out)
    assert "'Team/Plan'" in text(out)
    into = eddie.post("notes", "/Team/Doc/rename", {"new_pagename": "Agents/Doc", "message": "m"})
    assert into.status_code == 403
    deleted = eddie.post("notes", "/Team/Doc/delete", {"message": "m", "recursive": "recursive"})
    assert deleted.status_code == 403
    upload = eddie.upload("notes", "Team/Doc", "x.txt", b"data")
    assert upload.status_code == 403
    untouched(notes, head, notices)
    assert not (notes.repo("notes") / "Team" / "Doc" / "x.txt").exists()
    # inside, each of them works
    assert eddie.upload("notes", "Agents/Plan", "x.txt", b"data").status_code == 302
    moved = eddie.post(
        "notes",
        "/Agents/Plan/rename",
        {"new_pagename": "Agents/Later", "message": "m"},
        csrf_from="/Agents/Plan/rename",
    )
    assert moved.status_code == 302
    assert {"Agents/Later.md", "Agents/Later/x.txt"} <= set(notes.git("notes", "ls-files").split("\n"))
    gone = eddie.post(
        "notes",
        "/Agents/Later/delete",
        {"message": "m", "recursive": "recursive"},
        csrf_from="/Agents/Later/delete",
    )
    assert gone.status_code == 302
    assert "Agents/Later.md" not in notes.git("notes", "ls-files")


def test_a_revert_is_judged_by_what_it_would_change(notes: World) -> None:
    olive, eddie = notes.browser("olive"), notes.browser("eddie")
    olive.save("notes", "Team/Doc", "# Doc\n\nThe owner changed it.\n", "owner's edit")
    theirs = notes.git("notes", "rev-parse", "--short=8", "HEAD").strip()
    eddie.save("notes", "Agents/Plan", "# Plan\n\nEddie's edit.\n", "eddie's edit")
    mine = notes.git("notes", "rev-parse", "--short=8", "HEAD").strip()
    head, notices = state(notes)
    refused = eddie.post("notes", f"/-/revert/{theirs}", {"message": "undo"}, csrf_from=f"/-/revert/{theirs}")
    assert refused.status_code == 403
    assert "'Team/Doc'" in text(refused)
    untouched(notes, head, notices)
    undone = eddie.post("notes", f"/-/revert/{mine}", {"message": "undo mine"}, csrf_from=f"/-/revert/{mine}")
    assert undone.status_code == 302
    assert (notes.repo("notes") / "Agents" / "Plan.md").read_text() == FILES["Agents/Plan.md"]
