"""MCP and REST throughput of the mcp service: read_note, write_note, list_notes, semantic_search at 1 and 8
concurrent clients (official ``mcp`` SDK client, one session each), next to a plain REST GET of the same page,
then read_note again once the wiki has 1,000+ commits.

    python bench/bench_mcp.py                      # starts wikibot-mcp (4 workers) on a 200-page wiki
    python bench/bench_mcp.py --base http://127.0.0.1:8080 --host notes.localhost:8080 --token wbp_...
                                                   # an existing deployment (e.g. the compose stack via Caddy)

Prints calls/s, p50 and p95 per operation and concurrency, and the MCP/REST ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from services.mcp.tests.mcp_clients import payload, sdk  # noqa: E402

PAGES = 200
DURATION = 6.0


def body(i: int) -> str:
    return f"---\ntags: [bench, t{i % 10}]\n---\n# Page {i}\n\n## Intro\n\nSome text about topic {i}.\n\n[[Page {i + 1}]]\n"


async def measure(
    n_clients: int,
    base: str,
    host: str,
    token: str,
    make: Callable[[Any, int], Callable[[int], Awaitable[Any]]],
) -> tuple[float, float, float]:
    latencies: list[float] = []
    deadline = time.perf_counter() + DURATION

    async def client(n: int) -> None:
        async with sdk(base, token, host=host) as session:
            op = make(session, n)
            i = 0
            while time.perf_counter() < deadline:
                t0 = time.perf_counter()
                await op(i)
                latencies.append(time.perf_counter() - t0)
                i += 1

    start = time.perf_counter()
    await asyncio.gather(*(client(n) for n in range(n_clients)))
    elapsed = time.perf_counter() - start
    return _figures(latencies, elapsed)


def _figures(latencies: list[float], elapsed: float) -> tuple[float, float, float]:
    latencies.sort()
    p95 = latencies[int(len(latencies) * 0.95) - 1] if latencies else 0.0
    return len(latencies) / elapsed, statistics.median(latencies) * 1000, p95 * 1000


def rest_measure(n_clients: int, base: str, host: str, token: str, path: str) -> tuple[float, float, float]:
    latencies: list[float] = []
    deadline = time.perf_counter() + DURATION

    async def client() -> None:
        async with httpx.AsyncClient(
            base_url=base, headers={"Host": host, "Authorization": f"Bearer {token}"}
        ) as http:
            while time.perf_counter() < deadline:
                t0 = time.perf_counter()
                response = await http.get(f"/api/v1/pages/{path}")
                assert response.status_code == 200, response.text
                latencies.append(time.perf_counter() - t0)

    start = time.perf_counter()

    async def run() -> None:
        await asyncio.gather(*(client() for _ in range(n_clients)))

    asyncio.run(run())
    return _figures(latencies, time.perf_counter() - start)


def ops() -> dict[str, Callable[[Any, int], Callable[[int], Awaitable[Any]]]]:
    def read(session: Any, n: int) -> Callable[[int], Awaitable[Any]]:
        async def op(i: int) -> Any:
            result = await session.call_tool("read_note", {"path": f"Page {(n * 17 + i) % PAGES}"})
            assert not result.is_error, result

        return op

    def write(session: Any, n: int) -> Callable[[int], Awaitable[Any]]:
        async def op(i: int) -> Any:
            result = await session.call_tool(
                "edit_note", {"path": f"Bench/Writer {n}", "operation": "append", "content": f"line {i}"}
            )
            assert not result.is_error, result

        return op

    def listing(session: Any, n: int) -> Callable[[int], Awaitable[Any]]:
        async def op(i: int) -> Any:
            result = await session.call_tool("list_notes", {"tag": f"t{i % 10}", "limit": 50})
            assert payload(result)["total"] > 0

        return op

    def semantic(session: Any, n: int) -> Callable[[int], Awaitable[Any]]:
        async def op(i: int) -> Any:
            result = await session.call_tool(
                "semantic_search", {"query": f"text about topic {i % PAGES}", "n": 5}
            )
            assert not result.is_error, result

        return op

    return {
        "read_note": read,
        "write_note (edit_note append)": write,
        "list_notes": listing,
        "semantic_search": semantic,
    }


def run(base: str, host: str, token: str, grow: Callable[[], None] | None) -> None:
    print(f"target {base} (Host: {host}), {DURATION:.0f}s per figure")
    print(f"{'operation':34} {'clients':>7} {'calls/s':>9} {'p50 ms':>8} {'p95 ms':>8}")
    results: dict[tuple[str, int], tuple[float, float, float]] = {}
    for clients in (1, 8):
        for name, make in ops().items():
            figures = asyncio.run(measure(clients, base, host, token, make))
            results[(name, clients)] = figures
            print(f"{name:34} {clients:>7} {figures[0]:>9.1f} {figures[1]:>8.1f} {figures[2]:>8.1f}")
        rest = rest_measure(clients, base, host, token, "Page 7")
        results[("REST GET", clients)] = rest
        print(
            f"{'REST GET /api/v1/pages/Page 7':34} {clients:>7} {rest[0]:>9.1f} {rest[1]:>8.1f} {rest[2]:>8.1f}"
        )
        print(
            f"  MCP read_note / REST GET throughput ratio at {clients}: {results[('read_note', clients)][0] / rest[0]:.2f}"
        )
    if grow is None:
        return
    grow()
    for clients in (1, 8):
        figures = asyncio.run(measure(clients, base, host, token, ops()["read_note"]))
        print(
            f"{'read_note after 1,000+ commits':34} {clients:>7} {figures[0]:>9.1f} {figures[1]:>8.1f} {figures[2]:>8.1f}"
        )
    listing = asyncio.run(measure(1, base, host, token, ops()["list_notes"]))
    print(
        f"{'list_notes after 1,000+ commits':34} {1:>7} {listing[0]:>9.1f} {listing[1]:>8.1f} {listing[2]:>8.1f}"
    )


def local(workers: int) -> None:
    from services.mcp.tests.conftest import ALICE, make_world
    from services.mcp.tests.servers import ContractEmbedder, running, service_process
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
        for n in range(8):
            world.core.write(alice, f"Bench/Writer {n}", "# Writer\n")
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
            f"local wikibot-mcp, {workers} uvicorn workers, SQLite, {PAGES} pages "
            "(semantic_search answered by the test embedder that implements the contract)"
        )

        def grow() -> None:
            t0 = time.perf_counter()
            for i in range(1000):
                world.core.edit(
                    alice,
                    f"Page {i % PAGES}",
                    __import__("wikibot_mcp.wiki", fromlist=["Edit"]).Edit("append", content=f"rev {i}"),
                )
            count = (
                __import__("subprocess")
                .run(
                    ["git", "-C", str(world.repo()), "rev-list", "--count", "HEAD"],
                    capture_output=True,
                    text=True,
                )
                .stdout.strip()
            )
            print(f"-- wiki grown to {count} commits in {time.perf_counter() - t0:.1f}s")

        run(base, "notes.localhost:8080", world.pat(ALICE), grow)


def seed_over_rest(base: str, host: str, token: str) -> None:
    with httpx.Client(
        base_url=base, headers={"Host": host, "Authorization": f"Bearer {token}"}, timeout=60
    ) as http:
        for i in range(PAGES):
            put = http.put(f"/api/v1/pages/Page {i}", json={"content": body(i)}, headers={"If-Match": "*"})
            assert put.status_code in (200, 201), put.text
        for n in range(8):
            http.put(
                f"/api/v1/pages/Bench/Writer {n}", json={"content": "# Writer\n"}, headers={"If-Match": "*"}
            )


def through_stack() -> None:
    """Build the compose stack from this checkout and measure through Caddy."""
    from tests.integration import conftest as _integration  # noqa: F401 - testcontainers settings
    from tests.integration.stack import running_stack
    from tests.integration.test_agent_stack import SETUP

    with running_stack() as stack:
        token = stack.exec("platform", "python", "-c", SETUP).stdout.strip().splitlines()[-1]
        base, host = f"http://127.0.0.1:{stack.port}", stack.host("agents")
        seed_over_rest(base, host, token)
        print(
            f"compose stack through Caddy ({host}), {PAGES} pages; semantic_search answered by the stack's embedder"
        )
        run(base, host, token, None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", help="URL of a running deployment (default: start one)")
    parser.add_argument("--host", default="notes.localhost:8080")
    parser.add_argument("--token")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--stack", action="store_true", help="build the compose stack and go through Caddy")
    parser.add_argument(
        "--seed", action="store_true", help="with --base: create the benchmark pages over REST"
    )
    args = parser.parse_args()
    if args.stack:
        through_stack()
    elif args.base:
        if args.seed:
            seed_over_rest(args.base, args.host, args.token)
        run(args.base, args.host, args.token, None)
    else:
        local(args.workers)


if __name__ == "__main__":
    main()
