"""Page views through the tenant middleware vs plain single-tenant Otterwiki (issue: ≥ 90% of plain's throughput).

Everything runs here, in one run: the same page of the same repository is served by

  plain        upstream Otterwiki alone (``otterwiki.server:app``), anonymous reading allowed;
  middleware   the wikibot-otterwiki app (edge → tenant middleware → Otterwiki): a signed-in viewer of a
               private wiki (session JWT verified, session row and ACL read live on every request), and an
               anonymous visitor of a public wiki;
  alternating  the middleware with every request for the other of two wikis (cache of 32 wikis), and the same
               with a cache of one wiki, so every request rebuilds the wiki's state (what the cache saves).

Each server is Gunicorn with the same number of sync workers; a threaded client keeps as many requests in flight
as there are workers. Phases are interleaved over several rounds so load from other processes on the machine
hits every configuration alike. Prints requests per second, p50 and p95 latency, and the ratios.

    python bench/bench_otterwiki.py [--workers 2] [--seconds 4] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PAGE = """# Field Guide

A page of ordinary size: a few headings, lists, a table, code and links, as people write them.

## Setup

1. Install the tools with `make dev`.
2. Run the tests: `make test`.
3. Read [[Home]] and the [architecture](https://example.org/architecture).

## Reference

| Option | Default | Meaning |
|--------|---------|---------|
| workers | 3 | Gunicorn sync workers |
| cache | 32 | wikis kept per worker |

```python
def hello(name: str) -> str:
    return f"Hello, {name}!"
```

## Notes

> Otters hold hands while they sleep so they do not drift apart.

- first point with **bold** and *emphasis*
- second point with a [[Field Guide#Setup|link to a section]]
- third point

""" + "\n".join(f"Paragraph {i}: " + "lorem ipsum dolor sit amet " * 8 for i in range(12))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- servers (this file, re-executed with --serve) ------------------------------------------------------------
def serve(kind: str, data: Path, port: int, workers: int) -> None:
    from gunicorn.app.base import BaseApplication

    class App(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            options = {
                "bind": f"127.0.0.1:{port}",
                "workers": workers,
                "worker_class": "sync",
                "accesslog": None,
            }
            for key, value in options.items():
                self.cfg.set(key, value)
            self.cfg.set("loglevel", "warning")

        def load(self) -> Any:
            if kind == "plain":
                os.environ.update(
                    REPOSITORY=str(data / "plain"),
                    SECRET_KEY=uuid.uuid4().hex,
                    SQLALCHEMY_DATABASE_URI=f"sqlite:///{data / 'plain.db'}",
                    RETAIN_PAGE_NAME_CASE="True",
                    LOG_LEVEL="WARNING",
                )
                import otterwiki.server
                import otterwiki.views

                return otterwiki.server.app
            from wikibot_otterwiki.config import OtterwikiSettings
            from wikibot_otterwiki.main import create_app
            from wikibot_shared.keys import KeyStore
            from wikibot_shared.verify import LocalKeys

            cache = 1 if kind == "wikibot-cache1" else 32
            settings = OtterwikiSettings(
                data_dir=data, redis_url=os.environ["BENCH_REDIS_URL"], cache_wikis=cache
            )
            return create_app(settings, keys=LocalKeys(KeyStore(settings.keys_dir)))

    App().run()


# -- setting up a deployment ---------------------------------------------------------------------------------
def prepare(data: Path) -> dict[str, str]:
    """Two private wikis (a viewer's session for each) and a public one, each with the page; a plain repo."""
    from wikibot_shared.config import CommonSettings
    from wikibot_shared.db import make_engine, make_session_factory
    from wikibot_shared.keys import KeyStore
    from wikibot_shared.migrate import upgrade
    from wikibot_shared.models import Acl, User, UserSession, Wiki
    from wikibot_shared.storage import Author, init_repo
    from wikibot_shared.tokens import issue_session

    settings = CommonSettings(data_dir=data)
    assert settings.database_url
    upgrade(settings.database_url)
    keys = KeyStore(settings.keys_dir)
    keys.ensure()
    engine = make_engine(settings.database_url)
    files = {"Home.md": "# Home\n\nStart here.\n", "Field Guide.md": PAGE}
    author = Author.for_did("did:plc:owner", "owner.test")
    with make_session_factory(engine)() as db:
        db.add_all(
            [User(did="did:plc:owner", handle="owner.test"), User(did="did:plc:viewer", handle="viewer.test")]
        )
        db.flush()
        for slug, public in (("alpha", False), ("beta", False), ("open", True)):
            db.add(Wiki(slug=slug, owner_did="did:plc:owner", display_name=slug.title(), is_public=public))
            db.flush()
            db.add(Acl(wiki_slug=slug, grantee_did="did:plc:viewer", role="viewer"))
            init_repo(settings.wikis_dir, slug, files, author, "Create wiki")
        db.add(UserSession(id="bench", did="did:plc:viewer"))
        db.commit()
    engine.dispose()
    init_repo(data / "plain-parent", "plain", files, author, "Create wiki")
    shutil.move(str(data / "plain-parent" / "plain" / "repo"), str(data / "plain"))
    token = issue_session(
        keys.current().key,
        issuer=settings.issuer,
        audience=settings.session_audience,
        did="did:plc:viewer",
        sid="bench",
        ttl=7200,
    )
    return {"cookie": f"wikibot_session={token}"}


# -- the client ----------------------------------------------------------------------------------------------
@dataclass
class Result:
    latencies: list[float] = field(default_factory=list)
    seconds: float = 0.0
    errors: int = 0
    cpu: float = 0.0  # CPU seconds the server's processes spent (user + system)

    def add(self, other: Result) -> None:
        self.latencies += other.latencies
        self.seconds += other.seconds
        self.errors += other.errors
        self.cpu += other.cpu

    @property
    def cpu_ms(self) -> float:
        """Server CPU per page view: unlike req/s, barely moved by other load on a shared machine."""
        return self.cpu / len(self.latencies) * 1000 if self.latencies else float("nan")

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def pct(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000 if ordered else float("nan")


def server_cpu(master: int) -> float:
    """CPU seconds used so far by a Gunicorn master and its workers (from /proc)."""
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid, ppid = int(entry.name), int(fields[1])
        if master in (pid, ppid):
            total += int(fields[11]) + int(fields[12])  # utime, stime (proc(5), fields 14 and 15)
    return total / os.sysconf("SC_CLK_TCK")


def request_bytes(host: str, path: str, cookie: str | None) -> bytes:
    lines = [f"GET {path} HTTP/1.1", f"Host: {host}", "Accept: text/html", "Connection: close"]
    if cookie:
        lines.append(f"Cookie: {cookie}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def fetch(port: int, raw: bytes, expect: bytes) -> bool:
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(raw)
        chunks = []
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    response = b"".join(chunks)
    return response.startswith(b"HTTP/1.1 200") and expect in response


def load(port: int, requests: list[bytes], concurrency: int, seconds: float, expect: bytes) -> Result:
    result = Result()
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def worker(offset: int) -> None:
        mine: list[float] = []
        errors = 0
        i = offset
        while time.perf_counter() < deadline:
            raw = requests[i % len(requests)]
            i += 1
            start = time.perf_counter()
            ok = fetch(port, raw, expect)
            mine.append(time.perf_counter() - start)
            errors += not ok
        with lock:
            result.latencies += mine
            result.errors += errors

    started = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(n,)) for n in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    result.seconds = time.perf_counter() - started
    return result


def wait_up(port: int, raw: bytes, expect: bytes, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if fetch(port, raw, expect):
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"server on {port} did not come up")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--serve")
    parser.add_argument("--data")
    parser.add_argument("--port", type=int)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, Path(args.data), args.port, args.workers)
        return

    from tests.support.servers import redis_server

    data = Path(tempfile.mkdtemp(prefix="bench-otterwiki-"))
    procs: list[subprocess.Popen[bytes]] = []
    try:
        with redis_server() as redis_url:
            prepared = prepare(data)
            ports = {kind: free_port() for kind in ("plain", "wikibot", "wikibot-cache1")}
            env = {**os.environ, "BENCH_REDIS_URL": redis_url, "DATA_DIR": str(data)}
            for kind, port in ports.items():
                cmd = [sys.executable, __file__, "--serve", kind, "--data", str(data), "--port", str(port)]
                log = open(data / f"{kind}.log", "wb")  # noqa: SIM115 - lives as long as the server
                procs.append(
                    subprocess.Popen([*cmd, "--workers", str(args.workers)], env=env, stderr=log, cwd=ROOT)
                )
            path = "/Field%20Guide"
            expect = b"Otters hold hands"

            def host(slug: str, port: int) -> str:
                return f"{slug}.localhost:{port}"

            cookie = prepared["cookie"]
            configs: dict[str, tuple[int, list[bytes]]] = {
                "plain Otterwiki (anonymous)": (
                    ports["plain"],
                    [request_bytes(f"localhost:{ports['plain']}", path, None)],
                ),
                "middleware, private wiki, signed-in viewer": (
                    ports["wikibot"],
                    [request_bytes(host("alpha", ports["wikibot"]), path, cookie)],
                ),
                "middleware, public wiki, anonymous": (
                    ports["wikibot"],
                    [request_bytes(host("open", ports["wikibot"]), path, None)],
                ),
                "alternating two wikis (cache 32)": (
                    ports["wikibot"],
                    [request_bytes(host(s, ports["wikibot"]), path, cookie) for s in ("alpha", "beta")],
                ),
                "alternating two wikis (cache 1: rebuild)": (
                    ports["wikibot-cache1"],
                    [
                        request_bytes(host(s, ports["wikibot-cache1"]), path, cookie)
                        for s in ("alpha", "beta")
                    ],
                ),
            }
            for kind, port in ports.items():
                try:
                    wait_up(port, next(r for p, r in configs.values() if p == port)[0], expect)
                except RuntimeError:
                    print((data / f"{kind}.log").read_text()[-3000:], file=sys.stderr)
                    raise
            for port, requests in configs.values():
                load(port, requests, args.workers, 1.0, expect)  # warm every worker
            masters = {port: proc.pid for port, proc in zip(ports.values(), procs, strict=True)}
            totals = {name: Result() for name in configs}
            for _ in range(args.rounds):
                for name, (port, requests) in configs.items():
                    master = masters[port]
                    before = server_cpu(master)
                    result = load(port, requests, args.workers, args.seconds, expect)
                    result.cpu = server_cpu(master) - before
                    totals[name].add(result)
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(data, ignore_errors=True)

    print(
        f"Otterwiki page view, {args.workers} sync workers each, {args.rounds}×{args.seconds:g}s per configuration "
        f"(interleaved), concurrency {args.workers}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}"
    )
    print(f"{'configuration':44} {'req/s':>7} {'p50 ms':>8} {'p95 ms':>8} {'CPU ms/view':>11} {'errors':>6}")
    for name, r in totals.items():
        print(f"{name:44} {r.rate:7.1f} {r.pct(0.50):8.1f} {r.pct(0.95):8.1f} {r.cpu_ms:11.1f} {r.errors:6d}")
    plain = totals["plain Otterwiki (anonymous)"]
    print("ratios to plain Otterwiki:  throughput (req/s)  capacity (plain CPU per view / this CPU per view)")
    for name in list(totals)[1:]:
        r = totals[name]
        print(f"  {name:44} {r.rate / plain.rate:6.3f}  {plain.cpu_ms / r.cpu_ms:6.3f}")
    same = totals["middleware, private wiki, signed-in viewer"]
    for label in ("alternating two wikis (cache 32)", "alternating two wikis (cache 1: rebuild)"):
        r = totals[label]
        print(f"{label} vs the same wiki every time: extra CPU per view {r.cpu_ms - same.cpu_ms:+.1f} ms")
    capacity = plain.cpu_ms / same.cpu_ms
    print(
        f"target ≥ 0.90 of plain (signed-in, private; by CPU capacity): {'met' if capacity >= 0.9 else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
