"""Many wikis on one machine (issue 19): memory flat in the number of wikis, and the first request to a cold wiki.

Runs the three services that keep per-wiki state by their own entry points, as their containers do —
``wikibot-mcp`` (uvicorn workers), ``wikibot-otterwiki`` (Gunicorn sync workers) and ``wikibot-embedder`` (the
real model, its index worker on) — over one data directory, SQLite and a real Redis, then:

1. memory (RSS of each service, all its processes) with one wiki, then idle with WIKIS wikis (default 10,000,
   a few pages each) on disk: real git repositories, copies of one that ``init_repo`` made, each with the search
   index the embedder built for that repository (same commit, so nothing is re-embedded), a row, an owner and a
   token bound to it;
2. TOUCH wikis (default 1,000) visited in turn, each by the three requests a person or an agent would make first —
   MCP ``read_note``, a signed-in page view of the private wiki, MCP ``semantic_search`` — and memory at
   checkpoints along the way: once the bounded caches are full it must stop growing;
3. each of those first requests (a cold wiki: never asked for since the services started) next to the same
   request again right after (warm), p50/p95/max.

The files were just written, so the OS page cache holds them: "cold" here is the services' cold, not the disk's.

    python bench/bench_wikis.py [--wikis 10000] [--touch 1000]
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from bench.lightclient import mcp_request, tool_result  # noqa: E402
from services.mcp.tests.support.servers import JwksServer, running  # noqa: E402
from tests.support.servers import free_port, redis_server  # noqa: E402

OWNER = "did:plc:benchowner"
PAGES = {
    "Home.md": "# Home\n\nWelcome to this team's wiki. See [[Runbook]] and [[Decisions]].\n",
    "Runbook.md": "# Runbook\n\n## Deploy\n\nRun `make up`, then check the health page.\n\n## Rollback\n\n"
    "Restore the last backup and restart the services.\n",
    "Decisions.md": "# Decisions\n\n- We keep every page in git so that changes can be undone.\n"
    "- Search runs over every wiki: semantic and full text.\n",
}
QUERY = "how do we roll back a deploy"


def slug(i: int) -> str:
    return f"w{i:05d}"


# -- processes and their memory --------------------------------------------------------------------------
def tree_rss_mb(root: int) -> float:
    """Resident memory of ``root`` and every process below it, in MB (from /proc)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    members, frontier = {root}, [root]
    while frontier:
        pid = frontier.pop()
        children = [p for p, parent in parents.items() if parent == pid and p not in members]
        members.update(children)
        frontier += children
    total = 0
    for pid in members:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


def wait_http(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url}: the service exited ({proc.returncode}):\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{url} did not come up:\n{log.read_text()[-3000:]}")


@contextmanager
def service(name: str, module: str, env: dict[str, str], ready: str, logs: Path) -> Iterator[int]:
    """``python -c 'from {module} import main; main()'`` with ``env``; yields its pid once ``ready`` answers."""
    log = logs / f"{name}.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-c", f"from {module} import main; main()"],
            env={**os.environ, "LOG_FORMAT": "text", "LOG_LEVEL": "WARNING", **env},
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )
        try:
            wait_http(ready, proc, log)
            yield proc.pid
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


# -- the data --------------------------------------------------------------------------------------------
class Data:
    """The data directory: database rows, repositories and indexes, a session cookie and a token per wiki."""

    def __init__(self, root: Path) -> None:
        from wikibot_shared.config import CommonSettings
        from wikibot_shared.db import make_engine, make_session_factory
        from wikibot_shared.keys import KeyStore
        from wikibot_shared.migrate import upgrade
        from wikibot_shared.models import User, UserSession
        from wikibot_shared.tokens import issue_session

        self.root = root
        settings = CommonSettings(data_dir=root)
        assert settings.database_url
        self.database_url = settings.database_url
        self.wikis_dir = settings.wikis_dir
        upgrade(settings.database_url)
        keys = KeyStore(settings.keys_dir)
        keys.ensure()
        self.db = make_session_factory(make_engine(settings.database_url))
        with self.db() as db:
            db.add(User(did=OWNER, handle="owner.test"))
            db.add(UserSession(id="bench", did=OWNER))
            db.commit()
        token = issue_session(
            keys.current().key,
            issuer=settings.issuer,
            audience=settings.session_audience,
            did=OWNER,
            sid="bench",
            ttl=24 * 3600,
        )
        self.cookie = f"wikibot_session={token}"
        self.jwks = keys.jwks()
        self.tokens: dict[str, str] = {}

    def rows(self, slugs: list[str]) -> None:
        """One private wiki per slug, owned by OWNER, with a personal access token bound to it."""
        from services.mcp.tests.support.world import pat_row
        from wikibot_shared.models import Wiki

        with self.db() as db:
            db.add_all(Wiki(slug=s, owner_did=OWNER, display_name=s, is_public=False) for s in slugs)
            db.flush()
            for s in slugs:
                self.tokens[s], row = pat_row(OWNER, s)
                db.add(row)
            db.commit()

    def first(self, name: str) -> None:
        from wikibot_shared.storage import Author, init_repo

        self.rows([name])
        init_repo(self.wikis_dir, name, PAGES, Author.for_did(OWNER, "owner.test"), "Create wiki")

    def copies(self, template: str, names: list[str]) -> None:
        """``names`` as copies of ``template``'s repository and published index (files first, rows after:
        a wiki is known to the services only once its row exists)."""
        source = self.wikis_dir / template
        index = source / "index"
        current = os.readlink(index / "current")  # the published generation; older ones are not copied
        for name in names:
            target = self.wikis_dir / name
            shutil.copytree(source / "repo", target / "repo", symlinks=True)
            shutil.copytree(index, target / "index", symlinks=True, ignore=_index_ignore(current))
        for start in range(0, len(names), 1000):
            self.rows(names[start : start + 1000])


def _index_ignore(current: str) -> Callable[[str, list[str]], set[str]]:
    def ignore(_folder: str, entries: list[str]) -> set[str]:
        return {
            e for e in entries if e.endswith(".lock") or (e.startswith(("gen-", ".build-")) and e != current)
        }

    return ignore


# -- the three first requests ----------------------------------------------------------------------------
class Clients:
    def __init__(self, data: Data, mcp: str, otterwiki: str) -> None:
        self.data = data
        self.mcp = httpx.Client(base_url=mcp, timeout=60)
        self.ui = httpx.Client(base_url=otterwiki, timeout=60)
        self.ids = iter(range(1, 10**9))

    def _tool(self, wiki: str, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
        headers, body = mcp_request(next(self.ids), tool, arguments)
        extra = dict(line.split(": ", 1) for line in headers.strip().split("\r\n"))
        response = self.mcp.post(
            "/mcp",
            content=body,
            headers={
                **extra,
                "Host": f"{wiki}.localhost:8080",
                "Authorization": f"Bearer {self.data.tokens[wiki]}",
            },
        )
        return tool_result(response.status_code, response.content)

    def read(self, wiki: str) -> None:
        result = self._tool(wiki, "read_note", {"path": "Runbook"})
        assert "Rollback" in str(result), result

    def view(self, wiki: str) -> None:
        response = self.ui.get(
            "/Runbook", headers={"Host": f"{wiki}.localhost:8080", "Cookie": self.data.cookie}
        )
        if response.status_code != 200 or b"Restore the last backup" not in response.content:
            raise AssertionError(f"page view: HTTP {response.status_code}: {response.text[:300]}")

    def search(self, wiki: str) -> None:
        result = self._tool(wiki, "semantic_search", {"query": QUERY, "n": 3})
        assert "Runbook" in str(result), result


KINDS = ("read", "view", "search")
LABELS = {"read": "MCP read_note", "view": "page view (signed in)", "search": "MCP semantic_search"}


def summary(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    return f"p50 {statistics.median(ordered) * 1000:6.1f}  p95 {p95 * 1000:6.1f}  max {ordered[-1] * 1000:7.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wikis", type=int, default=int(os.environ.get("BENCH_WIKIS", 10_000)))
    parser.add_argument("--touch", type=int, default=int(os.environ.get("BENCH_WIKIS_TOUCH", 1_000)))
    parser.add_argument("--workers", type=int, default=2, help="mcp and otterwiki workers (default 2)")
    args = parser.parse_args()
    touch = min(args.touch, args.wikis - 1)

    with ExitStack() as stack:
        root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-wikis-")))
        redis_url = stack.enter_context(redis_server())
        data = Data(root)
        data.first(slug(0))
        common = {
            "DATA_DIR": str(root),
            "REDIS_URL": redis_url,
            "DATABASE_URL": data.database_url,
            "DOMAIN": "localhost",
            "PUBLIC_PORT": "8080",
            # The platform's /.well-known/jwks.json, which Otterwiki verifies sessions with (the platform itself
            # keeps no per-wiki state worth measuring here).
            "PLATFORM_INTERNAL_URL": stack.enter_context(running(JwksServer(data.jwks))),
        }
        ports = {name: free_port() for name in ("mcp", "otterwiki", "embedder")}
        embedder_url = f"http://127.0.0.1:{ports['embedder']}"
        pids = {
            "embedder": stack.enter_context(
                service(
                    "embedder",
                    "wikibot_embedder.serve",
                    {
                        **common,
                        "EMBEDDER_HOST": "127.0.0.1",
                        "EMBEDDER_PORT": str(ports["embedder"]),
                        "EMBEDDER_METRICS_PORT": "0",
                    },
                    f"{embedder_url}/readyz",
                    root,
                )
            ),
            "mcp": stack.enter_context(
                service(
                    "mcp",
                    "wikibot_mcp.serve",
                    {
                        **common,
                        "MCP_HOST": "127.0.0.1",
                        "MCP_PORT": str(ports["mcp"]),
                        "MCP_WORKERS": str(args.workers),
                        "MCP_METRICS_PORT": "0",
                        "EMBEDDER_INTERNAL_URL": embedder_url,
                    },
                    f"http://127.0.0.1:{ports['mcp']}/readyz",
                    root,
                )
            ),
            "otterwiki": stack.enter_context(
                service(
                    "otterwiki",
                    "wikibot_otterwiki.serve",
                    {
                        **common,
                        "OTTERWIKI_HOST": "127.0.0.1",
                        "OTTERWIKI_PORT": str(ports["otterwiki"]),
                        "OTTERWIKI_WORKERS": str(args.workers),
                        "OTTERWIKI_METRICS_PORT": "0",
                    },
                    f"http://127.0.0.1:{ports['otterwiki']}/healthz",
                    root,
                )
            ),
        }
        index_first(embedder_url, slug(0))
        clients = Clients(data, f"http://127.0.0.1:{ports['mcp']}", f"http://127.0.0.1:{ports['otterwiki']}")
        calls: dict[str, Callable[[str], None]] = {
            "read": clients.read,
            "view": clients.view,
            "search": clients.search,
        }
        for _ in range(2 * args.workers):  # every worker has served once: its imports and model are loaded
            for kind in KINDS:
                calls[kind](slug(0))

        def rss() -> dict[str, float]:
            return {name: tree_rss_mb(pid) for name, pid in pids.items()}

        table: list[tuple[str, dict[str, float]]] = [("1 wiki, each service warmed up", rss())]
        t0 = time.perf_counter()
        data.copies(slug(0), [slug(i) for i in range(1, args.wikis)])
        made = time.perf_counter() - t0
        disk = sum(f.stat().st_size for f in (data.wikis_dir / slug(1)).rglob("*") if f.is_file())
        time.sleep(
            5
        )  # anything the services do on their own with the new wikis (the embedder's sweep) gets going
        table.append((f"{args.wikis:,} wikis on disk, idle", rss()))

        cold: dict[str, list[float]] = {k: [] for k in KINDS}
        warm: dict[str, list[float]] = {k: [] for k in KINDS}
        checkpoints = sorted(
            {c for c in (100, 250, 500, *(touch * q // 4 for q in (1, 2, 3, 4))) if 0 < c <= touch}
        )
        for n in range(1, touch + 1):
            wiki = slug(n)
            for kind in KINDS:
                for seen in (cold, warm):
                    started = time.perf_counter()
                    calls[kind](wiki)
                    seen[kind].append(time.perf_counter() - started)
            if n in checkpoints:
                table.append((f"after {n:,} wikis touched in turn", rss()))

    print(
        f"many wikis: {args.wikis:,} wikis ({len(PAGES)} pages each, {disk / 1024:.0f} KiB on disk each, "
        f"{args.wikis - 1:,} copied in {made:.0f} s), {args.workers} mcp and {args.workers} otterwiki workers, "
        f"SQLite, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}"
    )
    print(f"{'memory (RSS, MB; all processes of the service)':52} " + " ".join(f"{n:>10}" for n in pids))
    for label, values in table:
        print(f"  {label:50} " + " ".join(f"{values[n]:10.0f}" for n in pids))
    # The reference: 250 wikis touched (every bounded cache full: 64 indexes, 32 wikis per worker), else the first.
    reference, full = next(
        ((label, values) for label, values in table if label.startswith("after 250 ")), table[2]
    )
    last = table[-1][1]
    growth = {n: (last[n] - full[n]) / full[n] for n in pids}
    flat = all(abs(g) <= 0.10 for g in growth.values())
    print(
        f"  growth from '{reference.removeprefix('after ')}' to the last: "
        + ", ".join(f"{n} {g:+.1%}" for n, g in growth.items())
        + f"  (target: flat, within 10 %: {'PASS' if flat else 'MISS'})"
    )
    print(f"first request to a cold wiki ({touch:,} wikis) vs the same request again:")
    for kind in KINDS:
        print(f"  {LABELS[kind]:24} cold {summary(cold[kind])}   warm {summary(warm[kind])}")


def index_first(embedder_url: str, wiki: str, timeout: float = 300) -> None:
    """The embedder indexes the first wiki (the real pipeline); its index is what the copies get."""
    response = httpx.post(f"{embedder_url}/reindex/{wiki}", timeout=30)
    assert response.status_code == 202, response.text
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = httpx.get(f"{embedder_url}/status/{wiki}", timeout=30).json()
        if status.get("indexed_commit") and status.get("indexed_commit") == status.get("head_commit"):
            return
        time.sleep(0.5)
    raise RuntimeError(f"the embedder did not index {wiki}: {status}")


if __name__ == "__main__":
    main()
