"""MCP and REST throughput of the agent plane, through Caddy in the compose stack (what ``make bench`` runs).

For ``read_note``, ``write_note``, ``list_notes`` and ``semantic_search`` at 1 and 8 concurrent clients: calls/s,
p50 and p95, next to a plain REST GET of the same pages in the same run, the MCP/REST ratio, then ``read_note``
again once the wiki has 1,000+ more commits (made through MCP by 8 concurrent writers). Every figure carries the
machine's 1-minute load average at the time (the benchmark machine is shared) and, where the containers' CPU
accounting is readable, the CPU the mcp service and Caddy spent per call.

Two load generators speak the same Streamable HTTP JSON-RPC (2026-07-28, one POST per call):
- ``lean``: a keep-alive HTTP/1.1 client (``lightclient.py``) sending the bytes the SDK sends; it costs little
  CPU, so its figures show what the service can do on the cores it shares with the client;
- ``sdk``: the official ``mcp`` client (one session per client, as robot.wtf was measured), itself a few ms of
  CPU per call on the same cores.

    python bench/bench_mcp.py                      # build the compose stack, measure through Caddy (~5 min)
    python bench/bench_mcp.py --local              # wikibot-mcp in a subprocess, no Caddy (quicker)
    python bench/bench_mcp.py --base http://127.0.0.1:8080 --host notes.localhost:8080 --token wbp_... [--seed]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack, ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from bench.lightclient import Connection, mcp_request, tool_result  # noqa: E402
from services.mcp.tests.support.clients import payload, sdk  # noqa: E402

PAGES = 200
GROW_COMMITS = 1000
RUN = time.strftime("%Y%m%d-%H%M%S")  # the write figures create their pages under Bench/RUN/
ROBOT_WTF = {1: 51.0, 8: 99.0}  # read_note/s with the official client, 200 pages (issue 8)


def body(i: int) -> str:
    return f"---\ntags: [bench, t{i % 10}]\n---\n# Page {i}\n\n## Intro\n\nSome text about topic {i}.\n\n[[Page {i + 1}]]\n"


def page(n: int, i: int) -> str:
    """The page client ``n`` reads on its ``i``-th call: every client walks all pages, from its own start."""
    return f"Page {(n * 17 + i) % PAGES}"


# -- one figure -------------------------------------------------------------------------------------------
@dataclass
class Figure:
    label: str
    driver: str
    clients: int
    calls: int = 0
    errors: int = 0
    elapsed: float = 0.0
    latencies: list[float] = field(default_factory=list)
    load: float = 0.0
    client_cpu_ms: float | None = None
    server_cpu_ms: dict[str, float] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.calls / self.elapsed if self.elapsed else 0.0

    def pct(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(len(ordered) * q))] * 1000

    def row(self) -> str:
        cpu = " ".join(f"{k} {v:.2f}" for k, v in self.server_cpu_ms.items()) or "n/a"
        client = f"{self.client_cpu_ms:.2f}" if self.client_cpu_ms is not None else "n/a"
        return (
            f"{self.label:32} {self.driver:5} {self.clients:>3} {self.rate:>8.1f} {self.pct(0.5):>7.1f} "
            f"{self.pct(0.95):>7.1f} {self.errors:>4} {self.load:>5.1f}   {client:>6}   {cpu}"
        )


HEADER = (
    f"{'operation':32} {'via':5} {'cl':>3} {'calls/s':>8} {'p50 ms':>7} {'p95 ms':>7} {'err':>4} {'load':>5}"
    "   client-CPU ms/call   server-CPU ms/call"
)

Op = Callable[[int, int], Awaitable[None]]  # (client n, call i) -> one call; raises on any error


class Target:
    """Where to send requests, and (optionally) how to read the CPU the server side spent."""

    def __init__(
        self,
        base: str,
        host: str,
        token: str,
        cpu: Callable[[], dict[str, float]] | None = None,
        logs: Callable[[], str] | None = None,
    ):
        self.base, self.host, self.token = base, host, token
        self.logs = logs  # the server side's recent log lines, shown when a figure had errors
        parts = urlsplit(base)
        self.addr, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.cpu = cpu

    def connection(self) -> Connection:
        return Connection(self.addr, self.port, self.host, {"Authorization": f"Bearer {self.token}"})


def measure(target: Target, label: str, driver: str, clients: int, duration: float, make: Any) -> Figure:
    """``make(session) -> Op`` for each client; ``session`` is a lean Connection or an SDK client."""
    figure = Figure(label, driver, clients)

    async def client(op: Op, n: int, deadline: float) -> None:
        i = 0
        while time.perf_counter() < deadline:
            t0 = time.perf_counter()
            try:
                await op(n, i)
            except Exception as exc:  # noqa: BLE001 - counted and shown, never hidden
                figure.errors += 1
                if figure.errors <= 3:
                    print(f"  ! {label} ({driver}): {str(exc)[:200]}", file=sys.stderr)
            else:
                figure.latencies.append(time.perf_counter() - t0)
            i += 1

    async def run() -> None:
        async with AsyncExitStack() as sessions:
            # Connect (and, for the SDK, open a session and call once) outside the timed window.
            ops: list[Op] = []
            for n in range(clients):
                op = make(await sessions.enter_async_context(_session(target, driver)))
                await op(n, 0)
                ops.append(op)
            before = target.cpu() if target.cpu else None
            c0, t0 = time.process_time(), time.perf_counter()
            await asyncio.gather(*(client(op, n, t0 + duration) for n, op in enumerate(ops)))
            figure.elapsed = time.perf_counter() - t0
            cpu = time.process_time() - c0
            after = target.cpu() if target.cpu else None
        figure.calls = len(figure.latencies)
        if figure.calls:
            figure.client_cpu_ms = cpu * 1000 / figure.calls
            if before is not None and after is not None:
                figure.server_cpu_ms = {
                    k: (after[k] - before[k]) * 1000 / figure.calls for k in after if k in before
                }

    asyncio.run(run())
    figure.load = os.getloadavg()[0]
    if figure.errors and target.logs is not None:
        print(target.logs(), file=sys.stderr)
    return figure


def _session(target: Target, driver: str) -> Any:
    if driver == "lean":
        return target.connection()
    return sdk(target.base, target.token, host=target.host)


# -- the operations, for both drivers ----------------------------------------------------------------------
def tool_op(
    tool: str, args: Callable[[int, int], dict[str, Any]], check: Callable[[dict[str, Any]], None]
) -> Any:
    def make(session: Any) -> Op:
        if isinstance(session, Connection):

            async def lean(n: int, i: int) -> None:
                headers, data = mcp_request(i, tool, args(n, i))
                check(tool_result(*await session.request("POST", "/mcp", data, headers)))

            return lean

        async def official(n: int, i: int) -> None:
            result = await session.call_tool(tool, args(n, i))
            if result.is_error:
                raise AssertionError(str(result.content[0].text)[:200])
            check(payload(result))

        return official

    return make


def writer_op() -> Any:
    """write_note replacing the client's own page (new for each figure: the first call creates it), passing the
    revision the previous write returned."""
    pages = itertools.count()

    def make(session: Any) -> Op:
        revisions: dict[int, str | None] = {}
        name = f"Bench/{RUN}/Writer {next(pages)}"

        def args(n: int, i: int) -> dict[str, Any]:
            out: dict[str, Any] = {"path": name, "content": f"# {name}\n\nversion {i}\n"}
            if revisions.get(n):
                out["base_revision"] = revisions[n]
            return out

        def keep(n: int, result: dict[str, Any]) -> None:
            revisions[n] = result["revision"]

        if isinstance(session, Connection):

            async def lean(n: int, i: int) -> None:
                headers, data = mcp_request(i, "write_note", args(n, i))
                keep(n, tool_result(*await session.request("POST", "/mcp", data, headers)))

            return lean

        async def official(n: int, i: int) -> None:
            result = await session.call_tool("write_note", args(n, i))
            if result.is_error:
                raise AssertionError(str(result.content[0].text)[:200])
            keep(n, payload(result))

        return official

    return make


def _nonempty(key: str) -> Callable[[dict[str, Any]], None]:
    def check(result: dict[str, Any]) -> None:
        if not result.get(key):
            raise AssertionError(f"empty {key}: {str(result)[:200]}")

    return check


OPS: dict[str, Any] = {
    "read_note": tool_op("read_note", lambda n, i: {"path": page(n, i)}, _nonempty("content")),
    "write_note (replace, base_revision)": writer_op(),
    "list_notes (tag, 50)": tool_op(
        "list_notes", lambda n, i: {"tag": f"t{i % 10}", "limit": 50}, _nonempty("total")
    ),
    "semantic_search (n=5)": tool_op(
        "semantic_search", lambda n, i: {"query": f"text about topic {i % PAGES}", "n": 5}, lambda r: None
    ),
}


def rest_get() -> Any:
    def make(session: Connection) -> Op:
        async def get(n: int, i: int) -> None:
            status, data = await session.request("GET", "/api/v1/pages/" + quote(page(n, i)))
            if status != 200:
                raise AssertionError(f"HTTP {status}: {data[:200]!r}")

        return get

    return make


# -- the run ----------------------------------------------------------------------------------------------
def run(
    target: Target, duration: float, drivers: list[str], grow: Callable[[], int] | None, repeat: int = 1
) -> None:
    print(f"{os.cpu_count()} CPUs; load average now {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(f"{duration:.0f}s per figure; server CPU per call from the containers' cgroup accounting\n")
    print(HEADER)
    rounds: dict[tuple[str, str, int], list[Figure]] = {}
    figures: dict[tuple[str, str, int], Figure] = {}  # the median round of each

    def show(figure: Figure) -> None:
        key = (figure.label, figure.driver, figure.clients)
        rounds.setdefault(key, []).append(figure)
        ordered = sorted(rounds[key], key=lambda f: f.rate)
        figures[key] = ordered[len(ordered) // 2]
        print(figure.row(), flush=True)

    rest_label = "REST GET /api/v1/pages/{page}"
    for _ in range(repeat):
        for clients in (1, 8):
            for driver in drivers:
                for label, make in OPS.items():
                    show(measure(target, label, driver, clients, duration, make))
            show(measure(target, rest_label, "lean", clients, duration, rest_get()))
    if repeat > 1:
        print(f"\nmedian of {repeat} rounds (calls/s min-max):")
        print(HEADER)
        for key, figure in figures.items():
            low, high = min(f.rate for f in rounds[key]), max(f.rate for f in rounds[key])
            print(f"{figure.row()}   [{low:.1f}-{high:.1f}]")
    print()
    for clients in (1, 8):
        rest = figures[(rest_label, "lean", clients)].rate
        for driver in drivers:
            mcp = figures[("read_note", driver, clients)].rate
            print(
                f"read_note ({driver}) at {clients}: {mcp:.1f}/s = {mcp / rest:.2f}x REST GET ({rest:.1f}/s), "
                f"{mcp / ROBOT_WTF[clients]:.1f}x robot.wtf ({ROBOT_WTF[clients]:.0f}/s, official client)"
            )
    if grow is None:
        return
    print()
    total = grow()
    print(HEADER)
    read_after = f"read_note, wiki at {total} commits"
    for clients in (1, 8):
        for driver in drivers:
            show(measure(target, read_after, driver, clients, duration, OPS["read_note"]))
    list_after = f"list_notes, wiki at {total} commits"
    show(measure(target, list_after, "lean", 1, duration, OPS["list_notes (tag, 50)"]))
    before = figures[("read_note", "lean", 8)].rate
    after = figures[(read_after, "lean", 8)].rate
    print(
        f"\nread_note at 8 clients (lean): {after:.1f}/s after growth vs {before:.1f}/s before ({after / before:.2f}x)"
    )


def grow_over_mcp(target: Target, commits: int, revcount: Callable[[], int]) -> int:
    """``commits`` more commits through MCP (8 concurrent writers appending to the benchmark pages); every
    acknowledged write must be a commit."""
    start = revcount()
    errors = 0

    async def writer(n: int) -> None:
        nonlocal errors
        async with target.connection() as conn:
            for i in range(n, commits, 8):
                headers, data = mcp_request(
                    i,
                    "edit_note",
                    {"path": f"Page {i % PAGES}", "operation": "append", "content": f"rev {i}"},
                )
                try:
                    tool_result(*await conn.request("POST", "/mcp", data, headers))
                except AssertionError as exc:
                    errors += 1
                    print(f"  ! edit_note: {exc}", file=sys.stderr)

    async def all_writers() -> None:
        await asyncio.gather(*(writer(n) for n in range(8)))

    t0 = time.perf_counter()
    asyncio.run(all_writers())
    elapsed = time.perf_counter() - t0
    end = revcount()
    print(
        f"-- {commits} edit_note calls by 8 concurrent clients in {elapsed:.1f}s ({commits / elapsed:.1f}/s), "
        f"{errors} errors; the wiki went from {start} to {end} commits "
        f"({'every acknowledged write is a commit' if end - start == commits - errors else 'MISMATCH'})"
    )
    return end


def seed_over_rest(target: Target) -> None:
    with httpx.Client(
        base_url=target.base,
        headers={"Host": target.host, "Authorization": f"Bearer {target.token}"},
        timeout=60,
    ) as http:
        for i in range(PAGES):
            put = http.put(f"/api/v1/pages/Page {i}", json={"content": body(i)}, headers={"If-Match": "*"})
            assert put.status_code in (200, 201), put.text


# -- where to run ------------------------------------------------------------------------------------------
def through_stack(
    duration: float, drivers: list[str], commits: int, workers: int | None, repeat: int
) -> None:
    """Build the compose stack from this checkout and measure through Caddy."""
    from tests.integration import conftest as _integration  # noqa: F401 - testcontainers settings
    from tests.integration.stack import UNLIMITED_AGENTS, running_stack
    from tests.integration.test_agent_stack import SETUP

    with running_stack({**UNLIMITED_AGENTS, **({"MCP_WORKERS": str(workers)} if workers else {})}) as stack:
        token = stack.exec("platform", "python", "-c", SETUP).stdout.strip().splitlines()[-1]
        containers = {name: stack.compose_cmd("ps", "-q", name).stdout.strip() for name in ("mcp", "caddy")}
        target = Target(
            f"http://127.0.0.1:{stack.port}",
            stack.host("agents"),
            token,
            cpu=lambda: _container_cpu(containers),
            logs=lambda: (
                stack.compose_cmd("logs", "--no-color", "--tail", "15", "mcp", "caddy", check=False).stdout
            ),
        )
        t0 = time.perf_counter()
        seed_over_rest(target)
        running = stack.exec("mcp", "printenv", "MCP_WORKERS", check=False).stdout.strip() or "default"
        print(
            f"compose stack through Caddy ({target.host}); mcp workers: {running}; {PAGES} pages seeded over "
            f"REST in {time.perf_counter() - t0:.1f}s; semantic_search answered by the stack's embedder"
        )

        def revcount() -> int:
            out = stack.exec("mcp", "git", "-C", "/data/wikis/agents/repo", "rev-list", "--count", "HEAD")
            return int(out.stdout.strip())

        run(target, duration, drivers, lambda: grow_over_mcp(target, commits, revcount), repeat)


def _container_cpu(containers: dict[str, str]) -> dict[str, float]:
    """CPU seconds each container has used (cgroup v1 cpuacct or v2 cpu.stat on the host), where readable."""
    out: dict[str, float] = {}
    for name, cid in containers.items():
        for path, scale in (
            (f"/sys/fs/cgroup/cpuacct/docker/{cid}/cpuacct.usage", 1e-9),
            (f"/sys/fs/cgroup/system.slice/docker-{cid}.scope/cpu.stat", 1e-6),
        ):
            try:
                text = Path(path).read_text()
            except OSError:
                continue
            value = text.split()[0] if scale == 1e-9 else text.split("usage_usec")[1].split()[0]
            out[name] = int(value) * scale
            break
    return out


def local(duration: float, drivers: list[str], workers: int, commits: int, repeat: int) -> None:
    from services.mcp.tests.support.servers import ContractEmbedder, running, service_process
    from services.mcp.tests.support.world import ALICE, make_world
    from tests.support.servers import redis_server

    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-mcp-")))
        redis_url = stack.enter_context(redis_server())
        embedder = ContractEmbedder(tmp / "wikis")
        embedder_url = stack.enter_context(running(embedder))
        world = make_world(tmp, redis_url, embedder_internal_url=embedder_url)
        alice = world.actor(ALICE)
        for i in range(PAGES):
            world.core.write(alice, f"Page {i}", body(i))
        env = {
            "DATA_DIR": str(tmp),
            "REDIS_URL": redis_url,
            "DOMAIN": "localhost",
            "PUBLIC_PORT": "8080",
            "DATABASE_URL": str(world.settings.database_url),
            "EMBEDDER_INTERNAL_URL": embedder_url,
        }
        base = stack.enter_context(service_process(env, workers=workers))
        print(
            f"local wikibot-mcp ({workers} uvicorn workers, no Caddy), SQLite, {PAGES} pages; semantic_search "
            "answered by the test embedder that implements the contract"
        )
        target = Target(base, "notes.localhost:8080", world.pat(ALICE))

        def revcount() -> int:
            out = subprocess.run(
                ["git", "-C", str(world.repo()), "rev-list", "--count", "HEAD"],
                capture_output=True,
                text=True,
            )
            return int(out.stdout.strip())

        run(target, duration, drivers, lambda: grow_over_mcp(target, commits, revcount), repeat)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--local", action="store_true", help="run wikibot-mcp in a subprocess, without Caddy")
    parser.add_argument("--base", help="URL of a running deployment")
    parser.add_argument("--host", default="notes.localhost:8080")
    parser.add_argument("--token")
    parser.add_argument(
        "--seed", action="store_true", help="with --base: create the benchmark pages over REST"
    )
    parser.add_argument("--workers", type=int, help="uvicorn workers of the mcp service (default: its own)")
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per figure")
    parser.add_argument("--commits", type=int, default=GROW_COMMITS, help="commits added before the re-run")
    parser.add_argument("--repeat", type=int, default=1, help="rounds of the main table (medians printed)")
    parser.add_argument("--lean-only", action="store_true", help="skip the official-client figures")
    args = parser.parse_args()
    drivers = ["lean"] if args.lean_only else ["lean", "sdk"]
    if args.base:
        target = Target(args.base, args.host, args.token)
        if args.seed:
            seed_over_rest(target)
        run(target, args.duration, drivers, None, args.repeat)
    elif args.local:
        local(args.duration, drivers, args.workers or 2, args.commits, args.repeat)
    else:
        through_stack(args.duration, drivers, args.commits, args.workers, args.repeat)


if __name__ == "__main__":
    main()
