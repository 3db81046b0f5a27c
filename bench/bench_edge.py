"""Large MCP responses through Caddy under concurrency: does any arrive cut short? (``make bench`` runs it.)

Caddy 2.6 now and then cut a large JSON response ("Invalid JSON: EOF while parsing a string", ~1 in 500
``search_notes`` calls at 8 clients). This soak seeds pages whose ``search_notes`` (limit 50) and ``read_note``
answers are 40–80 KB, then has 8 official ``mcp`` SDK clients call them in turn, and counts every call that failed
or returned a body that is not the whole answer (the expected page count, the expected content length).

    python bench/bench_edge.py                    # builds the compose stack, 8 clients × 250 calls (~5 min)
    python bench/bench_edge.py --clients 8 --calls 1000
    python bench/bench_edge.py --base http://127.0.0.1:8080 --host notes.localhost:8080 --token wbp_... --seed
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections import Counter
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from services.mcp.tests.support.clients import payload, sdk  # noqa: E402

PAGES = 40
WORD = "edgesoak"


def text(i: int) -> str:
    """About 60 KB: a long page every search for WORD finds, so each answer is large."""
    para = f"{WORD} paragraph of page {i}: " + "lorem ipsum dolor sit amet " * 40
    return f"# Soak {i}\n\n" + "\n\n".join(f"## Part {j}\n\n{para}" for j in range(50)) + "\n"


def seed(base: str, host: str, token: str) -> None:
    with httpx.Client(
        base_url=base, headers={"Host": host, "Authorization": f"Bearer {token}"}, timeout=60
    ) as c:
        for i in range(PAGES):
            r = c.put(f"/api/v1/pages/{quote(f'Soak/{i}')}", json={"content": text(i)})
            if r.status_code not in (200, 201, 409):
                raise SystemExit(f"seeding failed: {r.status_code} {r.text[:200]}")


async def client(
    n: int, base: str, host: str, token: str, calls: int, hits: int, outcomes: Counter[str], sizes: list[int]
) -> None:
    async with sdk(base, token, host=host) as mcp:
        for i in range(calls):
            try:
                if i % 2:
                    page = (n * 7 + i) % PAGES
                    got = payload(await mcp.call_tool("read_note", {"path": f"Soak/{page}"}))
                    whole = got.get("content") == text(page)
                    sizes.append(len(got.get("content", "")))
                else:
                    result = await mcp.call_tool("search_notes", {"query": WORD, "limit": 50})
                    got = payload(result)
                    sizes.append(len(result.content[0].text) if result.content else 0)
                    whole = len(got.get("results", [])) == hits
                outcomes["ok" if whole else "incomplete"] += 1
            except Exception as exc:  # noqa: BLE001 - every failure is a figure here
                outcomes[f"error: {type(exc).__name__}: {str(exc)[:90]}"] += 1


def wait_for_index(base: str, host: str, token: str, timeout: float = 900) -> tuple[float, int]:
    """Seconds until search_notes sees the soak pages, and how many hits it then gives (every later answer must
    give as many: fewer means it was cut or lost)."""
    started = time.perf_counter()

    async def go() -> int:
        async with sdk(base, token, host=host) as mcp:
            while time.perf_counter() - started < timeout:
                head = payload(await mcp.call_tool("get_recent_changes", {"limit": 1}))["changes"][0][
                    "commit"
                ]
                found = payload(await mcp.call_tool("search_notes", {"query": WORD, "limit": 50}))
                if found["indexed_commit"] == head and found["results"]:
                    return len(found["results"])
                await asyncio.sleep(3)
            raise SystemExit(f"the index did not reach the soak pages in {timeout:.0f} s")

    hits = asyncio.run(go())
    return time.perf_counter() - started, hits


def soak(base: str, host: str, token: str, clients: int, calls: int, hits: int) -> Counter[str]:
    outcomes: Counter[str] = Counter()
    sizes: list[int] = []

    async def go() -> None:
        await asyncio.gather(
            *(client(n, base, host, token, calls, hits, outcomes, sizes) for n in range(clients))
        )

    started = time.perf_counter()
    asyncio.run(go())
    took = time.perf_counter() - started
    total = sum(outcomes.values())
    bad = total - outcomes["ok"]
    sizes.sort()
    print(
        f"{clients} official-SDK clients, {total} calls (search_notes limit 50 and read_note) in {took:.0f} s; "
        f"answers {sizes[0] // 1024}–{sizes[-1] // 1024} KB (median {sizes[len(sizes) // 2] // 1024} KB)"
    )
    print(f"cut short or failed: {bad} of {total} ({bad / max(total, 1):.3%})")
    for outcome, count in outcomes.most_common():
        if outcome != "ok":
            print(f"  {count} × {outcome}")
    return outcomes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", help="URL of a running deployment (else the compose stack is built)")
    parser.add_argument("--host", default="notes.localhost:8080")
    parser.add_argument("--token")
    parser.add_argument("--seed", action="store_true", help="with --base: create the soak pages over REST")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--calls", type=int, default=250, help="calls per client")
    args = parser.parse_args()
    if args.base:
        if args.seed:
            seed(args.base, args.host, args.token)
        _took, hits = wait_for_index(args.base, args.host, args.token)
        soak(args.base, args.host, args.token, args.clients, args.calls, hits)
        return
    from tests.integration.stack import UNLIMITED_AGENTS, running_stack
    from tests.integration.test_agent_stack import SETUP

    with running_stack(UNLIMITED_AGENTS) as stack:
        token = stack.exec("platform", "python", "-c", SETUP).stdout.strip().splitlines()[-1]
        base, host = f"http://127.0.0.1:{stack.port}", stack.host("agents")
        seed(base, host, token)
        took, hits = wait_for_index(base, host, token)
        print(f"{PAGES} pages seeded; indexed in {took:.0f} s; search_notes gives {hits} pages", flush=True)
        soak(base, host, token, args.clients, args.calls, hits)
        errors = stack.compose_cmd("logs", "--no-color", "caddy", check=False).stdout
        cut = sum(1 for line in errors.splitlines() if '"level":"error"' in line)
        print(f"Caddy logged {cut} proxy errors")


if __name__ == "__main__":
    main()
