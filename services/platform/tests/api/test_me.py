"""``/api/me``: identity and limits, export as a tar of git bundles, account deletion."""

from __future__ import annotations

import io
import json
import subprocess
import tarfile
from pathlib import Path

from services.platform.tests.support import Platform, make, share
from wikibot_shared import storage
from wikibot_shared.db import transaction
from wikibot_shared.models import Acl, User, Wiki


def test_me(platform: Platform) -> None:
    alice = platform.user("alice")
    make(platform, alice)
    me = platform.client.get("/api/me", headers=platform.bearer(alice)).json()
    assert me["did"] == alice
    assert me["handle"] == "alice.test"
    assert me["username"] == "alice"
    assert me["tier"]["name"] == "free"
    assert me["tier"]["wikis_per_user"] == 3
    assert me["wikis_owned"] == 1
    assert me["is_admin"] is False
    assert me["csrf_token"]
    assert platform.client.get("/api/me").status_code == 401


def test_export_is_a_tar_of_bundles_that_clone(platform: Platform, tmp_path: Path) -> None:
    alice, bob = platform.user("alice"), platform.user("bob")
    make(platform, alice, "alpha")
    make(platform, bob, "bravo")
    make(platform, bob, "charlie")
    share(platform, "bravo", alice, "viewer")
    response = platform.client.get("/api/me/export", headers=platform.bearer(alice))
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/x-tar"
    assert "attachment" in response.headers["content-disposition"]
    with tarfile.open(fileobj=io.BytesIO(response.content)) as tar:
        names = sorted(tar.getnames())
        assert names == [
            "wikibot-export/alpha.bundle",
            "wikibot-export/bravo.bundle",
            "wikibot-export/wikibot-export.json",
        ]
        tar.extractall(tmp_path / "out", filter="data")
    manifest = json.loads((tmp_path / "out/wikibot-export/wikibot-export.json").read_text())
    assert [(w["slug"], w["role"]) for w in manifest["wikis"]] == [("alpha", "owner"), ("bravo", "viewer")]
    subprocess.run(
        ["git", "clone", "-q", str(tmp_path / "out/wikibot-export/alpha.bundle"), str(tmp_path / "alpha")],
        check=True,
    )
    assert (tmp_path / "alpha" / "Home.md").read_text().startswith("# alpha")


def test_delete_account_needs_confirmation_and_removes_everything(platform: Platform) -> None:
    alice, bob = platform.user("alice"), platform.user("bob")
    make(platform, alice, "alpha")
    make(platform, bob, "bravo")
    share(platform, "bravo", alice, "editor")
    share(platform, "alpha", bob, "viewer")
    headers = platform.bearer(alice)
    wrong = platform.client.delete("/api/me", params={"confirm": "bob"}, headers=headers)
    assert wrong.status_code == 400
    assert wrong.json()["error"] == "confirmation_mismatch"
    missing = platform.client.delete("/api/me", headers=headers)
    assert missing.status_code == 422
    gone = platform.client.delete("/api/me", params={"confirm": "alice"}, headers=headers)
    assert gone.status_code == 204
    assert "wikibot_session=" in gone.headers.get("set-cookie", "")
    assert not storage.wiki_paths(platform.settings.wikis_dir, "alpha").root.exists()
    assert storage.wiki_paths(platform.settings.wikis_dir, "bravo").repo.exists()
    with platform.app.state.db() as db:
        assert db.get(User, alice) is None
        assert db.get(Wiki, "alpha") is None
        assert db.get(Acl, ("bravo", alice)) is None
    after = platform.client.get("/api/me", headers=headers)
    assert after.status_code == 401  # the session died with the account
    assert (
        platform.client.get("/api/wikis/bravo/members", headers=platform.bearer(bob)).json()[0]["did"] == bob
    )


def test_admin_stats_only_for_admins(platform: Platform) -> None:
    alice = platform.user("alice")
    make(platform, alice)
    refused = platform.client.get("/api/admin/stats", headers=platform.bearer(alice))
    assert refused.status_code == 403
    assert refused.json()["error"] == "admin_only"
    platform.settings.admin_dids_raw = alice
    stats = platform.client.get("/api/admin/stats", headers=platform.bearer(alice)).json()
    assert stats["counts"]["users"] == 1
    assert stats["counts"]["wikis"] == 1
    assert stats["counts"]["pages"] == 2
    assert stats["counts"]["bytes"] > 0
    assert stats["queue"]["stream_length"] >= 1
    assert stats["health"]["database"]["status"] == "ok"
    assert stats["health"]["redis"]["status"] == "ok"
    assert stats["health"]["embedder"]["status"] == "error"  # nothing listens on the test's embedder URL
    with transaction(platform.app.state.db) as db:
        db.add(User(did="did:plc:bobbyxxxxxxxxxxxxxxxxxx", handle="bob.test"))
    assert (
        platform.client.get("/api/admin/stats", headers=platform.bearer(alice)).json()["counts"]["users"] == 2
    )
