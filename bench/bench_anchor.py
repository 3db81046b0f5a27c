"""Side by side with robot.wtf's agent plane (issue 19): the anchor and our stack, one load generator, interleaved.

The harness in /work/shared/anchor-robotwtf (``ANCHOR_HARNESS``) builds robot.wtf's three processes (Otterwiki's
``wikibot-io`` fork with otterwiki-api under sync gunicorn, and otterwiki-mcp) from their public sources, and
measures any MCP server with the same tool names with its ``load.py``. This driver, from one command:

1. builds the anchor into ``ANCHOR_DIR`` (default /tmp/anchor) unless it is already built from the same commits:
   the three trees are extracted from bare git mirrors under ``ANCHOR_SOURCES`` (default /work/.mirror, laid out
   ``<owner>+<name>/repo``), then the harness's ``setup.sh`` makes the venvs (pip installs);
2. builds and starts our compose stack (``tests.integration.stack.running_stack``);
3. runs rounds, each the anchor then ours, both from a freshly seeded wiki (the harness's ``reset.sh``; for ours a
   new wiki seeded with its ``seed.py mcp``): ``load.py`` over the matrix (writes last) with the same flags for
   both and the servers' processes watched for CPU, ``gitcheck.py`` on the repository, then the read paths again
   on the grown history -- the steps of the harness's ``bench.sh``;
4. prints issue 19's targets as ours ÷ anchor (medians across rounds) and writes every raw row to a JSONL file.

    python bench/bench_anchor.py                  # 3 rounds at load.py's defaults (500 calls or 20 s a figure;
                                                  # roughly 15 min a round on 2 cores, plus the first build)
    python bench/bench_anchor.py --rounds 1 --duration 3 --max-calls 40 --tools read_note,write_note
    python bench/bench_anchor.py --build-only     # only build the anchor
    python bench/bench_anchor.py -- --max-busy 20 # anything after -- goes to every load.py run

The machine is shared: a row whose ``other_cpu_pct`` (CPU used by neither the watched servers nor the load client)
is above 10 % is starred in the table; ``--max-busy`` makes load.py wait for a quiet machine before each figure.
Ours' server CPU is that of its six containers' process trees; Docker's userland port proxy (``docker-proxy``,
on by default) between the client and Caddy is not in it and counts as "other".
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

HARNESS = Path(os.environ.get("ANCHOR_HARNESS", "/work/shared/anchor-robotwtf"))
ANCHOR_DIR = Path(os.environ.get("ANCHOR_DIR", "/tmp/anchor"))  # noqa: S108 - the harness's default
SOURCES_DIR = Path(os.environ.get("ANCHOR_SOURCES", "/work/.mirror"))
SOURCES = {  # tree -> (repository, commit), as the harness's README gives them
    "otterwiki": ("schuyler/otterwiki", "c4ff079288f79402cdd944c3aa2e5928b31a8261"),  # branch wikibot-io
    "otterwiki-api": ("schuyler/otterwiki-api", "ded530acb18790d0ac6fd6414d450bade7724be4"),
    "otterwiki-mcp": ("schuyler/otterwiki-mcp", "97936fe7f768429232d1ffa1c2b771c72fdd7b72"),
}
LOAD_PYTHON = ANCHOR_DIR / "loadvenv" / "bin" / "python"  # the official mcp SDK, for both sides
OUR_SERVICES = ("mcp", "embedder", "otterwiki", "platform", "caddy", "redis")  # whose CPU counts as ours
DEFAULT_TOOLS = "read_note,list_notes,search_notes,rest_get,write_note"  # load.py's order: writes last
HISTORY_TOOLS = ("read_note", "list_notes", "rest_get")  # bench.sh's second pass, on the grown history
HISTORY_COMMITS = 1000  # "reads after 1,000+ commits"
CONTENDED_PCT = 10.0  # a row whose other_cpu_pct exceeds this shared the machine with other jobs


# A wiki and a read/write token for it, made inside the platform container (as tests/integration does).
class Unavailable(Exception):
    """The anchor cannot be built here (what is missing is in the message)."""


# -- 1. the anchor's build --------------------------------------------------------------------------------
def _mirror(repo: str, commit: str) -> Path | None:
    """A git directory under SOURCES_DIR that holds ``commit`` of ``repo``."""
    base = SOURCES_DIR / repo.replace("/", "+")
    for git_dir in (base / "repo", base, base / ".git"):
        found = subprocess.run(
            ["git", f"--git-dir={git_dir}", "cat-file", "-e", f"{commit}^{{commit}}"], capture_output=True
        )
        if git_dir.is_dir() and found.returncode == 0:
            return git_dir
    return None


def build_anchor() -> str:
    """Build the anchor unless ANCHOR_DIR holds one built from SOURCES; returns what happened."""
    missing = [
        str(HARNESS / f)
        for f in ("setup.sh", "reset.sh", "load.py", "gitcheck.py")
        if not (HARNESS / f).is_file()
    ]
    if missing:
        raise Unavailable(f"the anchor harness is not there: {', '.join(missing)} (set ANCHOR_HARNESS)")
    stamp = ANCHOR_DIR / "bench-anchor-sources.txt"  # written only after setup.sh succeeded
    wanted = "".join(f"{repo} {commit}\n" for repo, commit in SOURCES.values())
    if stamp.is_file() and stamp.read_text() == wanted and LOAD_PYTHON.exists():
        return f"already built in {ANCHOR_DIR}"
    mirrors: dict[str, Path] = {}
    for tree, (repo, commit) in SOURCES.items():
        found = _mirror(repo, commit)
        if found is None:
            where = SOURCES_DIR / repo.replace("/", "+") / "repo"
            missing.append(f"{repo} at {commit} (looked for a git directory holding it at {where})")
        else:
            mirrors[tree] = found
    if missing:
        raise Unavailable(
            "robot.wtf's sources are missing:\n  "
            + "\n  ".join(missing)
            + "\nput a mirror of each there (a bare clone will do) or set ANCHOR_SOURCES to the folder holding them"
        )
    trees = []
    for tree, git_dir in mirrors.items():
        dest = ANCHOR_DIR / "src" / tree
        shutil.rmtree(dest, ignore_errors=True)
        dest.mkdir(parents=True)
        archive = subprocess.run(
            ["git", f"--git-dir={git_dir}", "archive", SOURCES[tree][1]], capture_output=True, check=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
        trees.append(str(dest))
    log = ANCHOR_DIR / "logs" / "setup.log"
    log.parent.mkdir(exist_ok=True)
    print(f"building the anchor in {ANCHOR_DIR} (setup.sh: venvs, pip installs; log {log}) ...", flush=True)
    started = time.perf_counter()
    with log.open("w") as out:
        done = subprocess.run(
            ["bash", str(HARNESS / "setup.sh"), *trees],
            env={**os.environ, "ANCHOR_DIR": str(ANCHOR_DIR)},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    if done.returncode:
        tail = "".join(log.read_text().splitlines(keepends=True)[-20:])
        raise Unavailable(
            f"the harness's setup.sh failed (exit {done.returncode}); the end of {log}:\n{tail}"
        )
    stamp.write_text(wanted)
    return f"built in {time.perf_counter() - started:.0f} s into {ANCHOR_DIR}"


# -- 2. the two sides, behind one interface ---------------------------------------------------------------
class Anchor:
    """robot.wtf's stack as the harness runs it: gunicorn (Otterwiki + otterwiki-api) and otterwiki-mcp."""

    label = "anchor-robotwtf"

    def __init__(self) -> None:
        # load.py and seed.py read the anchor's URLs and keys from ANCHOR_DIR/anchor.env
        self.env = {**os.environ, "ANCHOR_DIR": str(ANCHOR_DIR)}
        self.repo = ANCHOR_DIR / "data" / "repository"

    def reset(self, round_no: int) -> None:
        """Fresh repository, 200 seeded pages, restarted servers (reset.sh; its log in ANCHOR_DIR/logs)."""
        (ANCHOR_DIR / "logs").mkdir(exist_ok=True)
        with (ANCHOR_DIR / "logs" / "reset.log").open("a") as log:
            subprocess.run(
                [str(HARNESS / "reset.sh")], env=self.env, stdout=log, stderr=subprocess.STDOUT, check=True
            )

    def git(self, *args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(self.repo), *args], capture_output=True, text=True, check=True
        ).stdout.strip()

    def pids(self) -> list[int]:
        return [int((ANCHOR_DIR / f"{name}.pid").read_text()) for name in ("otterwiki", "mcp")]

    def load_flags(self) -> list[str]:
        return []  # load.py's defaults are the anchor's

    def gitcheck(self, since: str) -> dict[str, Any]:
        out = subprocess.run(
            [sys.executable, str(HARNESS / "gitcheck.py"), str(self.repo), "--since", since],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        return json.loads(out.strip().splitlines()[-1])

    def settle(self) -> None:
        """Nothing runs in the background here."""

    def stop(self) -> None:
        subprocess.run([str(HARNESS / "stop.sh")], env=self.env, capture_output=True, check=False)


class Ours:
    """Our compose stack through Caddy; every round a new wiki (so each round starts from the seeded history)."""

    label = "ours"

    def __init__(self, stack: Any) -> None:
        self.stack = stack
        self.base = f"http://127.0.0.1:{stack.port}"
        self.slug = self.token = self.host = ""
        self.env = dict(os.environ)

    def reset(self, round_no: int) -> None:
        self.slug = f"vs-anchor-{round_no + 1}-{os.getpid()}"
        from tests.integration.test_agent_stack import (
            SETUP,
        )  # the wiki and write token the integration tests use

        made = self.stack.exec("platform", "python", "-c", SETUP, self.slug)
        self.token = made.stdout.strip().splitlines()[-1]
        self.host = self.stack.host(self.slug)
        t0 = time.perf_counter()
        seed = [str(LOAD_PYTHON), str(HARNESS / "seed.py"), "mcp",
                "--mcp-url", f"{self.base}/mcp", "--token", self.token, "--host-header", self.host]  # fmt: skip
        subprocess.run(seed, check=True, stdout=subprocess.DEVNULL)
        seeded = time.perf_counter() - t0
        self.settle()
        print(
            f"  ours: wiki {self.slug} seeded over MCP in {seeded:.0f} s, search index caught up "
            f"{time.perf_counter() - t0 - seeded:.0f} s later",
            flush=True,
        )

    def git(self, *args: str) -> str:
        return self.stack.exec("mcp", "git", "-C", f"/data/wikis/{self.slug}/repo", *args).stdout.strip()

    def pids(self) -> list[int]:
        """The containers' main processes (load.py adds their descendants); dockerd shares this PID namespace."""
        pids = []
        for service in OUR_SERVICES:
            cid = self.stack.compose_cmd("ps", "-q", service).stdout.strip()
            pid = subprocess.run(
                ["docker", "inspect", "-f", "{{.State.Pid}}", cid], capture_output=True, text=True, check=True
            )
            pids.append(int(pid.stdout.strip()))
        missing = [p for p in pids if not Path(f"/proc/{p}").exists()]
        if missing:
            print(
                f"  ! container pids {missing} are not visible here: ours' server CPU will be short",
                file=sys.stderr,
            )
        return pids

    def load_flags(self) -> list[str]:
        # the README's flags for ours: our revision argument, and rows that return as much data as the anchor's
        return [
            "--mcp-url", f"{self.base}/mcp", "--token", self.token, "--host-header", self.host,
            "--rest-url", self.base + "/api/v1/pages/{path}", "--rest-token", self.token, "--rest-host", self.host,
            "--revision-arg", "base_revision", "--list-args", '{"limit": 500}', "--search-args", '{"limit": 50}',
        ]  # fmt: skip

    def gitcheck(self, since: str) -> dict[str, Any]:
        """The harness's gitcheck.py, run in place inside the mcp container (fed on stdin) on the wiki's repo."""
        repo = f"/data/wikis/{self.slug}/repo"
        done = self.stack.compose_stream(
            "exec", "-T", "mcp", "python", "-", repo, "--since", since, stdin=HARNESS / "gitcheck.py"
        )
        if done.returncode:
            raise RuntimeError(f"gitcheck failed in the mcp container: {done.stderr.decode()[-400:]}")
        return json.loads(done.stdout.decode().strip().splitlines()[-1])

    def settle(self, timeout: float = 900) -> None:
        """Wait until the search index holds the latest commit (the embedder indexes after each write), so no
        measurement shares the machine with indexing that the anchor does not do."""
        from services.mcp.tests.support.clients import payload, sdk

        async def poll() -> None:
            deadline = time.monotonic() + timeout
            async with sdk(self.base, self.token, host=self.host) as client:
                while True:
                    found = payload(
                        await client.call_tool("search_notes", {"query": "migration", "limit": 1})
                    )
                    if found["fresh"]:
                        return
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"the search index did not catch up in {timeout:.0f} s: {found}")
                    await asyncio.sleep(2)

        asyncio.run(poll())

    def stop(self) -> None:
        """The stack stays up for the next round (running_stack removes it at the end)."""


# -- 3. one round of one side -----------------------------------------------------------------------------
def load(
    side: Anchor | Ours, label: str, tools: list[str], common: list[str], round_no: int, sink: TextIO
) -> None:
    """One load.py run; its JSON lines go to the sink (with the round) and, shortened, to the screen."""
    pids = ",".join(str(p) for p in side.pids())
    cmd = [str(LOAD_PYTHON), str(HARNESS / "load.py"), "--label", label, "--watch-pids", pids,
           *side.load_flags(), *common, "--tools", ",".join(tools)]  # fmt: skip
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=side.env) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            if not line.startswith("{"):
                continue
            row = {"kind": "load", "round": round_no, **json.loads(line)}
            sink.write(json.dumps(row) + "\n")
            sink.flush()
            print("  " + brief(row), flush=True)
    if proc.returncode:
        raise RuntimeError(f"load.py failed for {label} (exit {proc.returncode})")


def brief(row: dict[str, Any]) -> str:
    calls = row["calls"] or 1
    srv = f"{1000 * row['server_cpu_s'] / calls:.1f}" if row.get("server_cpu_s") is not None else "n/a"
    return (
        f"{row['label']:<24} {row['tool']:<13} c={row['concurrency']:<2} {row['calls_per_s'] or 0:>7.1f}/s "
        f"p50 {row['p50_ms']} p99 {row['p99_ms']} max {row['max_ms']} ms  err {row['errors']}/{row['calls']}  "
        f"server {srv} client {1000 * row['client_cpu_s'] / calls:.1f} ms/call  other {row.get('other_cpu_pct')}%"
    )


def one_round(side: Anchor | Ours, round_no: int, tools: list[str], common: list[str], sink: TextIO) -> None:
    t0 = time.perf_counter()
    side.reset(round_no)
    seeded = side.git("rev-parse", "HEAD")
    start = int(side.git("rev-list", "--count", "HEAD"))
    load(side, side.label, tools, common, round_no, sink)
    check = side.gitcheck(seeded)
    commits = int(side.git("rev-list", "--count", "HEAD"))
    history = [t for t in HISTORY_TOOLS if t in tools]
    if history:
        side.settle()
        load(side, f"{side.label}+history", history, common, round_no, sink)
    side.stop()
    summary = {"kind": "round", "label": side.label, "round": round_no, "seeded_commits": start,
               "commits_for_history": commits, "gitcheck": check}  # fmt: skip
    sink.write(json.dumps(summary) + "\n")
    print(
        f"  {side.label}: {start} -> {commits} commits; gitcheck {_gitcheck_text(check)} "
        f"({time.perf_counter() - t0:.0f} s)",
        flush=True,
    )


def _gitcheck_text(check: dict[str, Any]) -> str:
    return (
        f"{len(check['uncommitted'])} uncommitted, {check['mixed_commits']} mixed, {check['reverts']} reverts"
    )


# -- 4. the table -----------------------------------------------------------------------------------------
class Figure:
    """One (label, tool, concurrency) across rounds: medians, except where a sum or the worst is the point."""

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.rows = rows

    def median(self, value: Callable[[dict[str, Any]], float | None]) -> float | None:
        values = [v for v in map(value, self.rows) if v is not None]
        return statistics.median(values) if values else None

    @property
    def rate(self) -> float | None:
        return self.median(lambda r: r["calls_per_s"])

    @property
    def server_ms(self) -> float | None:
        return self.median(lambda r: _per_call(r, "server_cpu_s"))

    @property
    def client_ms(self) -> float | None:
        return self.median(lambda r: _per_call(r, "client_cpu_s"))

    @property
    def p99_ms(self) -> float | None:
        return self.median(lambda r: r["p99_ms"])

    @property
    def worst_ms(self) -> float | None:
        return max((r["max_ms"] for r in self.rows), default=None)

    @property
    def errors(self) -> str:
        return f"{sum(r['errors'] for r in self.rows)} of {sum(r['calls'] for r in self.rows)}"

    @property
    def not_read_back(self) -> int:
        """write_note pages whose last acknowledged write was not what a read showed afterwards."""
        return sum(r.get("readback_lost", 0) + r.get("readback_failed_write_visible", 0) for r in self.rows)

    @property
    def contended(self) -> bool:
        return any((r.get("other_cpu_pct") or 0) > CONTENDED_PCT for r in self.rows)


def _per_call(row: dict[str, Any], key: str) -> float | None:
    return 1000 * row[key] / row["calls"] if row.get(key) is not None and row["calls"] else None


class Results:
    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.load = [r for r in rows if r.get("kind") == "load" and r["calls"]]
        self.rounds = [r for r in rows if r.get("kind") == "round"]

    def figure(self, label: str, tool: str, conc: int) -> Figure:
        return Figure(
            [r for r in self.load if (r["label"], r["tool"], r["concurrency"]) == (label, tool, conc)]
        )

    def history_commits(self, label: str) -> int | None:
        """The fewest commits any round's repository had when the read paths were measured again."""
        return min((r["commits_for_history"] for r in self.rounds if r["label"] == label), default=None)

    def gitcheck_faults(self, label: str) -> int | None:
        checks = [r["gitcheck"] for r in self.rounds if r["label"] == label]
        faults = (len(c["uncommitted"]) + c["mixed_commits"] + c["reverts"] for c in checks)
        return sum(faults) if checks else None


Row = tuple[str, str, str, str, str, str]  # what, ours, anchor, figure, target, PASS/MISS


def _rate(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.1f}/s"


def _ms(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.1f} ms"


def _verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("PASS" if ok else "MISS")


def _clients(conc: int) -> str:
    return f"{conc} client{'s' if conc > 1 else ''}"


def table(res: Results) -> list[Row]:
    def ours(tool: str, conc: int, history: bool = False) -> Figure:
        return res.figure(Ours.label + ("+history" if history else ""), tool, conc)

    def anchor(tool: str, conc: int, history: bool = False) -> Figure:
        return res.figure(Anchor.label + ("+history" if history else ""), tool, conc)

    def star(text: str, *figures: Figure) -> str:
        return text + ("*" if any(f.contended for f in figures) else "")

    def throughput(what: str, tool: str, conc: int, target: float | None = None) -> Row:
        o, a = ours(tool, conc), anchor(tool, conc)
        ratio = o.rate / a.rate if o.rate and a.rate else None
        figure = star("n/a" if ratio is None else f"{ratio:.2f}×", o, a)
        if target is None:
            return (what, _rate(o.rate), _rate(a.rate), figure, "—", "")
        return (
            what,
            _rate(o.rate),
            _rate(a.rate),
            figure,
            f"≥ {target:g}×",
            _verdict(ratio >= target if ratio else None),
        )

    rows = [throughput("read_note, 8 clients: calls/s", "read_note", 8, target=5)]
    for conc in (1, 8):
        o, a = ours("read_note", conc), anchor("read_note", conc)
        both = o.server_ms and a.server_ms
        figure = star(f"1/{a.server_ms / o.server_ms:.1f}" if both else "n/a", o, a)
        ok = o.server_ms * 8 <= a.server_ms if both else None
        rows.append((f"read_note, {_clients(conc)}: server CPU/call", _ms(o.server_ms), _ms(a.server_ms),
                     figure, "≤ 1/8", _verdict(ok)))  # fmt: skip
    for conc in (1, 8):
        o, a = ours("read_note", conc), anchor("read_note", conc)
        figure = f"{o.client_ms / a.client_ms:.2f}×" if o.client_ms and a.client_ms else "n/a"
        rows.append((f"read_note, {_clients(conc)}: client CPU/call", _ms(o.client_ms), _ms(a.client_ms),
                     figure, "—", ""))  # fmt: skip
    commits = res.history_commits(Ours.label)
    for conc in (1, 8):
        before, after = ours("read_note", conc), ours("read_note", conc, history=True)
        ratio = after.rate / before.rate if after.rate and before.rate else None
        enough = commits is not None and commits >= HISTORY_COMMITS
        rows.append((f"read_note, {_clients(conc)}, after {commits} commits (ours)", _rate(after.rate),
                     _rate(anchor("read_note", conc, history=True).rate),
                     star("n/a" if ratio is None else f"{ratio:.2f}× before", before, after),
                     f"≥ 0.90× at {HISTORY_COMMITS}+", _verdict(ratio >= 0.9 if ratio and enough else None)))  # fmt: skip

    o, a = ours("write_note", 8), anchor("write_note", 8)
    wrote = bool(o.rows)
    faults = res.gitcheck_faults(Ours.label)
    both = o.server_ms and a.server_ms
    rows += [
        throughput("write_note, 8 writers: calls/s", "write_note", 8, target=2),
        ("write_note, 8 writers: errors", o.errors, a.errors, "", "= 0",
         _verdict(o.errors.startswith("0 ") if wrote else None)),
        ("write_note, 8 writers: p99", _ms(o.p99_ms), _ms(a.p99_ms), star("", o, a), "≤ 500 ms",
         _verdict(o.p99_ms <= 500 if o.p99_ms is not None else None)),
        ("write_note, 8 writers: max (worst round)", _ms(o.worst_ms), _ms(a.worst_ms), "", "—", ""),
        ("write_note, 8 writers: server CPU/call", _ms(o.server_ms), _ms(a.server_ms),
         star(f"{o.server_ms / a.server_ms:.2f}×" if both else "n/a", o, a), "< 1×",
         _verdict(o.server_ms < a.server_ms if both else None)),
        ("writes: gitcheck faults + pages not read back", f"{faults} + {o.not_read_back}",
         f"{res.gitcheck_faults(Anchor.label)} + {a.not_read_back}", "", "= 0",
         _verdict(faults + o.not_read_back == 0 if wrote and faults is not None else None)),
    ]  # fmt: skip
    for tool in ("list_notes", "search_notes", "rest_get"):
        rows += [throughput(f"{tool}, {_clients(conc)}: calls/s", tool, conc) for conc in (1, 8)]
    return rows


def print_table(res: Results) -> None:
    rows = [("target (issue 19)", "ours", "anchor", "figure", "target", "result"), *table(res)]
    widths = [max(len(r[i]) for r in rows) for i in range(6)]
    for n, row in enumerate(rows):
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
        if n == 0:
            print("  ".join("-" * w for w in widths))
    rounds = len({r["round"] for r in res.rounds})
    print(
        f"\nmedians of {rounds} round(s); figure = ours ÷ anchor unless it says otherwise; * = in a round of this "
        f"row other jobs used more than {CONTENDED_PCT:g}% of the machine (other_cpu_pct): repeat on a quiet one"
    )


# -- the run ----------------------------------------------------------------------------------------------
@contextmanager
def our_stack() -> Iterator[Ours]:
    from tests.integration import conftest as _integration  # noqa: F401 - testcontainers settings
    from tests.integration.stack import UNLIMITED_AGENTS, running_stack

    print("building and starting our compose stack ...", flush=True)
    with running_stack(UNLIMITED_AGENTS) as stack:
        yield Ours(stack)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="rounds of anchor then ours (default 3)")
    parser.add_argument("--tools", default=DEFAULT_TOOLS, help="load.py tools, in this order (writes last)")
    parser.add_argument("--concurrency", default="1,8", help="load.py concurrency list")
    parser.add_argument("--duration", type=float, help="load.py: seconds per figure (its default 20)")
    parser.add_argument("--max-calls", type=int, help="load.py: calls per figure (its default 500)")
    parser.add_argument("--out", type=Path, help="raw JSONL rows (default bench/results/anchor-<time>.jsonl)")
    parser.add_argument("--build-only", action="store_true", help="build the anchor and stop")
    parser.add_argument(
        "--skip-unavailable",
        action="store_true",
        help="exit 0 (skipped) when the anchor cannot be built, as `make bench` runs it",
    )
    parser.add_argument("load_args", nargs="*", help="after --: more load.py flags for every run")
    args = parser.parse_args()

    try:
        built = build_anchor()
    except Unavailable as exc:
        print(f"bench_anchor: the anchor cannot be built: {exc}", file=sys.stderr)
        if args.skip_unavailable:
            print("bench_anchor: skipped")
            return 0
        return 2
    print(f"anchor: {built}")
    if args.build_only:
        return 0

    tools = [t.strip() for t in args.tools.split(",") if t.strip()]
    common = ["--concurrency", args.concurrency, *args.load_args]
    common += ["--duration", str(args.duration)] if args.duration else []
    common += ["--max-calls", str(args.max_calls)] if args.max_calls else []
    out = args.out or ROOT / "bench" / "results" / f"anchor-{time.strftime('%Y%m%d-%H%M%S')}.jsonl"
    out.parent.mkdir(parents=True, exist_ok=True)
    print(
        f"{os.cpu_count()} CPUs, load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}; "
        f"{args.rounds} round(s) of {', '.join(tools)}; load.py flags: {' '.join(common)}; rows -> {out}",
        flush=True,
    )

    anchor = Anchor()
    with out.open("w") as sink, our_stack() as ours:
        try:
            for round_no in range(args.rounds):
                for side in (anchor, ours):
                    print(f"== round {round_no + 1}/{args.rounds}: {side.label}", flush=True)
                    one_round(side, round_no, tools, common, sink)
        finally:
            anchor.stop()
    rows = [json.loads(line) for line in out.read_text().splitlines() if line.strip()]
    print()
    print_table(Results(rows))
    print(f"\nraw rows: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
