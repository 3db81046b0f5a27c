"""What one page write costs under the lock: the in-process commit (libgit2, ``wiki.gitrepo.commit``) against
the two git processes it replaced (``git add -A -- paths`` + ``git commit``), interleaved in one run.

Each round writes one page of a wiki of ``--pages`` pages, alternately through each way, in two repositories that
grow the same history. Reported per way: wall time (what the lock is held for) and CPU (this process and its
children, so git's processes count) per write, p50 / p95, and the ratio. Every commit is checked afterwards:
``git fsck --full`` clean and an empty ``git status``.

    .venv/bin/python bench/bench_commit.py                 # 300 writes each
    .venv/bin/python bench/bench_commit.py --writes 1000 --pages 500
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from wikibot_mcp.wiki import gitrepo
from wikibot_shared.git import run
from wikibot_shared.storage import Author

AUTHOR = Author.for_did("did:plc:bench", "bench.test")


def two_processes(repo: Path, changes: gitrepo.Changes, message: str, author: Author, when: int) -> str:
    """The commit before this change (``git show 461a5f7:services/mcp/src/wikibot_mcp/wiki/gitrepo.py``)."""
    for path, data in changes.writes.items():
        gitrepo._atomic_write(Path(repo, path), data)
    run(repo, "add", "-A", "--", *changes.paths)
    dated = {"GIT_AUTHOR_DATE": f"@{when} +0000", "GIT_COMMITTER_DATE": f"@{when} +0000"}
    run(repo, "commit", "-q", "--no-verify", "-m", message, env={**author.env, **dated})
    return gitrepo.read_head(repo) or ""


def _cpu() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _seed(repo: Path, pages: int) -> None:
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    for n in range(pages):
        (repo / f"Page {n}.md").write_text(f"# Page {n}\n\n" + "Some text of the page.\n" * 40)
    run(repo, "add", "-A")
    run(repo, "commit", "-q", "-m", "seed", env=AUTHOR.env)


def _check(repo: Path) -> None:
    run(repo, "fsck", "--full")
    status = run(repo, "status", "--porcelain")
    assert not status, status


def _pct(values: list[float], q: float) -> float:
    return sorted(values)[min(len(values) - 1, int(q * len(values)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writes", type=int, default=300)
    parser.add_argument("--pages", type=int, default=200)
    args = parser.parse_args()
    ways: dict[str, Callable[..., str]] = {"two git processes": two_processes, "in-process": gitrepo.commit}
    figures: dict[str, dict[str, list[float]]] = {name: {"wall": [], "cpu": []} for name in ways}
    with tempfile.TemporaryDirectory() as tmp:
        repos = {name: Path(tmp, str(i)) for i, name in enumerate(ways)}
        for repo in repos.values():
            _seed(repo, args.pages)
        for n in range(args.writes):
            page = f"Page {n * 7 % args.pages}.md"
            changes = gitrepo.Changes({page: f"# Page\n\nversion {n}\n".encode() + b"More text.\n" * 40})
            order = (
                list(ways) if n % 2 == 0 else list(reversed(ways))
            )  # interleaved, alternating who goes first
            for name in order:
                wall, cpu = time.perf_counter(), _cpu()
                ways[name](repos[name], changes, f"Update {page}", AUTHOR, when=1_700_000_000 + n)
                figures[name]["wall"].append((time.perf_counter() - wall) * 1000)
                figures[name]["cpu"].append((_cpu() - cpu) * 1000)
        for repo in repos.values():
            _check(repo)
        trees = {name: run(repo, "rev-parse", "HEAD^{tree}").strip() for name, repo in repos.items()}
        assert len(set(trees.values())) == 1, trees  # the same content committed either way
    rows = []
    for name, f in figures.items():
        rows.append(
            {
                "way": name,
                "writes": args.writes,
                "wall_ms_p50": round(statistics.median(f["wall"]), 2),
                "wall_ms_p95": round(_pct(f["wall"], 0.95), 2),
                "cpu_ms_p50": round(statistics.median(f["cpu"]), 2),
                "cpu_ms_mean": round(statistics.mean(f["cpu"]), 2),
            }
        )
        print(json.dumps(rows[-1]))
    before, after = rows
    print(
        f"in-process ÷ two git processes: wall p50 {after['wall_ms_p50'] / before['wall_ms_p50']:.2f}, "
        f"CPU mean {after['cpu_ms_mean'] / before['cpu_ms_mean']:.2f} (lower is better); "
        "fsck clean, status empty, same tree"
    )


if __name__ == "__main__":
    main()
