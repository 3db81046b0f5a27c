"""git clone and push with the real git binary against the real app under uvicorn."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from services.mcp.tests.support.servers import uvicorn_thread
from services.mcp.tests.support.world import ALICE, BOB, CAROL, World, make_world
from wikibot_mcp.main import create_app
from wikibot_shared.models import Wiki
from wikibot_shared.queue import STREAM


class Remote:
    def __init__(self, world: World, base: str) -> None:
        self.world = world
        self.port = urlsplit(base).port
        self.base = base

    def url(self, slug: str = "notes", token: str | None = None) -> str:
        auth = f"anyone:{token}@" if token else ""
        return f"http://{auth}{slug}.localhost:{self.port}/repo.git"

    def git(
        self, *args: str, cwd: Path | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        flat: list[str] = []
        for slug in ("notes", "open-wiki"):
            flat += ["-c", f"http.curloptResolve={slug}.localhost:{self.port}:127.0.0.1"]
        env = {
            **os.environ,
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_ASKPASS": "/bin/false",
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_AUTHOR_NAME": "Pusher",
            "GIT_AUTHOR_EMAIL": "p@x",
            "GIT_COMMITTER_NAME": "Pusher",
            "GIT_COMMITTER_EMAIL": "p@x",
        }
        return subprocess.run(
            ["git", *flat, *args], cwd=cwd, env=env, capture_output=True, text=True, check=check, timeout=120
        )

    def clone(
        self, tmp: Path, who: str | None = ALICE, slug: str = "notes", scopes: str = "wiki:read wiki:write"
    ) -> Path:
        target = tmp / f"clone-{who}-{slug}-{len(list(tmp.iterdir()))}"
        token = self.world.pat(who, slug, scopes) if who else None
        self.git("clone", "-q", self.url(slug, token), str(target))
        return target


@pytest.fixture(scope="module")
def remote(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Iterator[Remote]:
    tmp = tmp_path_factory.mktemp("git")
    world = make_world(tmp, redis_url)
    world.add_wiki("open-wiki", public=True)
    with uvicorn_thread(create_app(world.settings)) as base:
        yield Remote(world, base)


def commit_all(remote: Remote, clone: Path, message: str) -> None:
    remote.git("add", "-A", cwd=clone)
    remote.git("commit", "-qm", message, cwd=clone)


def test_clone_with_token_and_anonymous(remote: Remote, tmp_path: Path) -> None:
    clone = remote.clone(tmp_path)
    assert (clone / "Home.md").read_text().startswith("# Home")
    denied = remote.git("clone", "-q", remote.url(), str(tmp_path / "anon"), check=False)
    assert denied.returncode != 0
    public = remote.clone(tmp_path, who=None, slug="open-wiki")
    assert (public / "Home.md").exists()
    wrong = remote.git(
        "clone", "-q", remote.url("notes", "wbp_wrongwrongwrongwrong"), str(tmp_path / "w"), check=False
    )
    assert wrong.returncode != 0
    bare = httpx.get(
        f"{remote.base}/repo.git/info/refs?service=git-upload-pack", headers={"Host": "notes.localhost"}
    )
    assert bare.status_code == 401
    assert bare.headers["www-authenticate"].startswith("Basic realm=")
    dumb = httpx.get(f"{remote.base}/repo.git/HEAD", headers={"Host": "notes.localhost"})
    assert dumb.status_code == 404


def test_push_updates_wiki_and_notifies(remote: Remote, tmp_path: Path) -> None:
    world = remote.world
    world.redis.delete(STREAM)
    clone = remote.clone(tmp_path, who=BOB)
    (clone / "Pushed.md").write_text("# Pushed\n\n[[Home]]\n")
    (clone / "Home.md").write_text("# Home\n\nchanged by push\n")
    commit_all(remote, clone, "one")
    (clone / "Second.md").write_text("two\n")
    commit_all(remote, clone, "two")
    pushed = remote.git("push", "-q", "origin", "HEAD:main", cwd=clone, check=False)
    assert pushed.returncode == 0, pushed.stderr
    server = world.repo()
    assert (server / "Pushed.md").read_text() == "# Pushed\n\n[[Home]]\n"  # working tree updated
    status = subprocess.run(
        ["git", "-C", str(server), "status", "--porcelain"], capture_output=True, text=True
    )
    assert status.stdout == ""
    a = world.actor(ALICE)
    assert world.core.read(a, "Home")["content"] == "# Home\n\nchanged by push\n"
    assert world.core.links(a, "Home")["linked_from"] == ["Pushed"]
    notices = [f for _id, f in world.redis.xrange(STREAM)]
    assert len(notices) == 1
    assert notices[0]["source"] == "git"
    assert set(notices[0]["paths"].split("\n")) == {"Home.md", "Pushed.md", "Second.md"}
    with world.db() as db:
        wiki = db.get(Wiki, "notes")
        assert wiki is not None
        assert wiki.page_count >= 3


def test_force_push_is_reindexed(remote: Remote, tmp_path: Path) -> None:
    world = remote.world
    clone = remote.clone(tmp_path)
    (clone / "Force.md").write_text("f\n")
    commit_all(remote, clone, "force me")
    remote.git("push", "-q", "origin", "HEAD:main", cwd=clone)
    remote.git("reset", "-q", "--hard", "HEAD~1", cwd=clone)
    (clone / "Instead.md").write_text("i\n")
    commit_all(remote, clone, "instead")
    world.redis.delete(STREAM)
    forced = remote.git("push", "-q", "--force", "origin", "HEAD:main", cwd=clone, check=False)
    assert forced.returncode == 0, forced.stderr
    paths = set(world.redis.xrange(STREAM)[0][1]["paths"].split("\n"))
    assert paths == {"Force.md", "Instead.md"}
    listed = {p["path"] for p in world.core.list(world.actor(ALICE))["pages"]}
    assert "Instead" in listed
    assert "Force" not in listed


def test_push_refusals(remote: Remote, tmp_path: Path) -> None:
    world = remote.world
    viewer = remote.clone(tmp_path, who=CAROL)
    (viewer / "V.md").write_text("v\n")
    commit_all(remote, viewer, "viewer")
    refused = remote.git("push", "origin", "HEAD:main", cwd=viewer, check=False)
    assert refused.returncode != 0
    assert "403" in refused.stderr
    scoped = remote.clone(tmp_path, scopes="wiki:read")
    (scoped / "S.md").write_text("s\n")
    commit_all(remote, scoped, "scoped")
    assert remote.git("push", "origin", "HEAD:main", cwd=scoped, check=False).returncode != 0

    clone = remote.clone(tmp_path)
    head = subprocess.run(
        ["git", "-C", str(world.repo()), "rev-parse", "HEAD"], capture_output=True, text=True
    ).stdout
    os.symlink("../../etc/passwd", clone / "Escape.md")
    commit_all(remote, clone, "escape")
    escape = remote.git("push", "origin", "HEAD:main", cwd=clone, check=False)
    assert escape.returncode != 0
    assert "points outside the wiki" in escape.stderr
    remote.git("reset", "-q", "--hard", "HEAD~1", cwd=clone)
    branch = remote.git("push", "origin", "HEAD:refs/heads/other", cwd=clone, check=False)
    assert branch.returncode != 0
    assert "only refs/heads/main" in branch.stderr
    world.set_wiki("notes", tier="tiny")  # 1000 bytes per attachment, no git push
    try:
        tiny = remote.git("push", "origin", "HEAD:main", cwd=clone, check=False)
        assert tiny.returncode != 0
        assert "403" in tiny.stderr
    finally:
        world.set_wiki("notes", tier="free")
    (clone / "big.bin").write_bytes(b"x" * (5 * 1024 * 1024 + 10))
    commit_all(remote, clone, "big")
    big = remote.git("push", "origin", "HEAD:main", cwd=clone, check=False)
    assert big.returncode != 0
    assert "per file" in big.stderr
    after = subprocess.run(
        ["git", "-C", str(world.repo()), "rev-parse", "HEAD"], capture_output=True, text=True
    ).stdout
    assert after == head
    world.set_wiki("notes", payment_status="lapsed")
    try:
        lapsed = remote.git("push", "origin", "HEAD:main", cwd=clone, check=False)
        assert lapsed.returncode != 0
        assert "403" in lapsed.stderr
    finally:
        world.set_wiki("notes", payment_status="active")
    fsck = subprocess.run(
        ["git", "-C", str(world.repo()), "fsck", "--strict"], capture_output=True, text=True
    )
    assert fsck.returncode == 0, fsck.stderr
