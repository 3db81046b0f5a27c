"""Many clients at once against ``wikibot-mcp`` with several worker processes: MCP (official SDK), REST and
git pushes writing the same pages. Every acknowledged write is in the history, every stale write got a
conflict, no commit mixes two writers, nothing is left uncommitted, ``git fsck`` is clean."""

from __future__ import annotations

import asyncio
import os
import subprocess
import threading
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from services.mcp.tests.support.clients import error_text, payload, sdk
from services.mcp.tests.support.servers import service_process
from services.mcp.tests.support.world import ALICE, BOB, make_world

PAGES = ["Shared/A", "Shared/B", "Shared/C"]
ROUNDS = 6


def test_mcp_rest_and_git_writers_at_once(tmp_path: Path, redis_url: str, redis_client: object) -> None:
    world = make_world(tmp_path, redis_url)
    alice = world.actor(ALICE)
    for page in PAGES:
        world.core.write(alice, page, f"# {page}\n")
    env = {
        "DATA_DIR": str(tmp_path),
        "REDIS_URL": redis_url,
        "DOMAIN": "localhost",
        "PUBLIC_PORT": "8080",
        "DATABASE_URL": str(world.settings.database_url),
        "EMBEDDER_INTERNAL_URL": "http://127.0.0.1:9",
    }
    acked: list[str] = []  # markers of writes the server acknowledged
    stale: list[str] = []
    errors: list[str] = []
    lock = threading.Lock()

    def record(kind: list[str], marker: str) -> None:
        with lock:
            kind.append(marker)

    with service_process(env, workers=3) as base:
        port = urlsplit(base).port

        async def mcp_writer(n: int) -> None:
            async with sdk(base, world.pat(ALICE if n % 2 else BOB)) as client:
                for i in range(ROUNDS):
                    page = PAGES[(n + i) % len(PAGES)]
                    marker = f"mcp-{n}-{i}"
                    read = payload(await client.call_tool("read_note", {"path": page}))
                    result = await client.call_tool(
                        "write_note",
                        {
                            "path": page,
                            "content": read["content"] + marker + "\n",
                            "base_revision": read["revision"],
                        },
                    )
                    if result.is_error:
                        text = error_text(result)
                        (
                            record(stale, marker)
                            if text.startswith("[stale_revision]")
                            else record(errors, text)
                        )
                    else:
                        record(acked, marker)
                    edit_marker = f"mcpedit-{n}-{i}"
                    edited = await client.call_tool(
                        "edit_note", {"path": page, "operation": "append", "content": edit_marker}
                    )
                    (record(errors, error_text(edited)) if edited.is_error else record(acked, edit_marker))

        def rest_writer(n: int) -> None:
            headers = {"Host": "notes.localhost:8080", "Authorization": f"Bearer {world.pat(ALICE)}"}
            with httpx.Client(base_url=base, headers=headers, timeout=60) as http:
                for i in range(ROUNDS):
                    page = PAGES[(n + i + 1) % len(PAGES)]
                    marker = f"rest-{n}-{i}"
                    got = http.get(f"/api/v1/pages/{page}")
                    put = http.put(
                        f"/api/v1/pages/{page}",
                        json={"content": got.json()["content"] + marker + "\n"},
                        headers={"If-Match": got.headers["etag"]},
                    )
                    if put.status_code == 200:
                        record(acked, marker)
                    elif put.status_code == 412:
                        record(stale, marker)
                    else:
                        record(errors, put.text)

        def git_writer(n: int) -> None:
            clone = tmp_path / f"clone-{n}"
            url = f"http://x:{world.pat(ALICE)}@notes.localhost:{port}/repo.git"
            env_git = {
                **os.environ,
                "GIT_TERMINAL_PROMPT": "0",
                "GIT_AUTHOR_NAME": "g",
                "GIT_AUTHOR_EMAIL": "g@x",
                "GIT_COMMITTER_NAME": "g",
                "GIT_COMMITTER_EMAIL": "g@x",
            }
            resolve = ["-c", f"http.curloptResolve=notes.localhost:{port}:127.0.0.1"]

            def git(*args: str) -> subprocess.CompletedProcess[str]:
                return subprocess.run(
                    ["git", *resolve, *args],
                    cwd=clone if clone.exists() else tmp_path,
                    env=env_git,
                    capture_output=True,
                    text=True,
                    timeout=120,
                )

            git("clone", "-q", url, str(clone))
            for i in range(3):
                marker = f"git-{n}-{i}"
                git("pull", "-q", "--rebase")
                (clone / f"Pushed/{marker}.md").parent.mkdir(exist_ok=True)
                (clone / f"Pushed/{marker}.md").write_text(marker + "\n")
                git("add", "-A")
                git("commit", "-qm", marker)
                pushed = git("push", "-q", "origin", "HEAD:main")
                if pushed.returncode == 0:
                    record(acked, marker)
                elif (
                    "fetch first" in pushed.stderr
                    or "non-fast-forward" in pushed.stderr
                    or "rejected" in pushed.stderr
                ):
                    record(stale, marker)
                    git("reset", "-q", "--hard", "origin/main")
                else:
                    record(errors, pushed.stderr)

        threads = [threading.Thread(target=rest_writer, args=(n,)) for n in range(3)]
        threads += [threading.Thread(target=git_writer, args=(n,)) for n in range(2)]
        threads += [threading.Thread(target=lambda n=n: asyncio.run(mcp_writer(n))) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=300)

    repo = world.repo()
    assert errors == []
    assert len(acked) > 0
    assert len(acked) + len(stale) == 4 * ROUNDS * 2 + 3 * ROUNDS + 2 * 3
    everything = subprocess.run(
        ["git", "-C", str(repo), "log", "-p", "--format=%H"], capture_output=True, text=True
    ).stdout
    final = "".join((repo / f"{p}.md").read_text() for p in PAGES)
    for marker in acked:
        assert marker in everything, marker
        if not marker.startswith("git-"):
            assert marker in final, f"{marker} was acknowledged but lost"
        else:
            assert (repo / "Pushed" / f"{marker}.md").exists()
    for marker in stale:
        assert marker not in everything, f"{marker} was refused but committed"
    log = subprocess.run(
        ["git", "-C", str(repo), "log", "--format=%x00%an", "--name-only"], capture_output=True, text=True
    ).stdout
    for entry in log.split("\0")[1:]:
        author, *files = [line for line in entry.splitlines() if line]
        if author in ("alice.test", "bob.test"):
            assert len(files) == 1, (author, files)  # no commit mixes two writers' pages
    assert (
        subprocess.run(
            ["git", "-C", str(repo), "status", "--porcelain"], capture_output=True, text=True
        ).stdout
        == ""
    )
    fsck = subprocess.run(["git", "-C", str(repo), "fsck", "--strict"], capture_output=True, text=True)
    assert fsck.returncode == 0, fsck.stderr
