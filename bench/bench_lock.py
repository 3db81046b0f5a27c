"""Lock waits under contention: ``repo_lock`` (fair) against the polling lock it replaced, in one run.

Mixed writers: several processes (as the mcp, otterwiki and platform containers are), each with threads, all
writing one wiki; each holds the lock for ``--hold`` ms (about a small commit) and then pauses ``--think`` ms.
Reported per lock and per writer count: p50 / p95 / max wait to get the lock, and the spread between the writer
that got the most turns and the one that got the fewest (fairness).

    .venv/bin/python bench/bench_lock.py                      # 8 and 32 writers, 4 processes
    .venv/bin/python bench/bench_lock.py --writers 8 --seconds 5
"""

from __future__ import annotations

import argparse
import errno
import fcntl
import json
import multiprocessing
import os
import statistics
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from wikibot_shared.locks import lock_path, repo_lock


@contextmanager
def polling_lock(wikis_dir: Path, slug: str, *, timeout: float = 30.0, poll: float = 0.005) -> Iterator[None]:
    """The lock before this change (``git show a1423f4:shared/src/wikibot_shared/locks.py``): ``LOCK_NB`` polled
    with a back-off doubling to 100 ms, no queue."""
    path = lock_path(wikis_dir, slug)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o660)
    try:
        deadline = time.monotonic() + timeout
        delay = poll
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
                if time.monotonic() >= deadline:
                    raise TimeoutError from None
                time.sleep(delay)
                delay = min(delay * 2, 0.1)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


LOCKS = {"polling (before)": polling_lock, "repo_lock (fair)": repo_lock}


def _process(kind: str, wikis: str, threads: int, until: float, hold: float, think: float, out: str) -> None:
    lock = LOCKS[kind]
    waits: list[list[float]] = [[] for _ in range(threads)]

    def writer(i: int) -> None:
        while time.time() < until:
            asked = time.monotonic()
            with lock(Path(wikis), "bench"):
                waits[i].append(time.monotonic() - asked)
                time.sleep(hold)
            time.sleep(think)

    pool = [threading.Thread(target=writer, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    Path(out).write_text(json.dumps(waits))


def run(
    kind: str, writers: int, processes: int, seconds: float, hold: float, think: float
) -> dict[str, float]:
    ctx = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "bench").mkdir()
        until = time.time() + 2.0 + seconds  # every process started before anyone writes for long
        outs = [str(Path(tmp) / f"out{p}.json") for p in range(processes)]
        each = [writers // processes + (1 if p < writers % processes else 0) for p in range(processes)]
        procs = [
            ctx.Process(target=_process, args=(kind, tmp, n, until, hold, think, out))
            for n, out in zip(each, outs, strict=True)
        ]
        for p in procs:
            p.start()
        for p in procs:
            p.join()
        per_writer = [w for out in outs for w in json.loads(Path(out).read_text())]
    waits = sorted(x for w in per_writer for x in w)
    turns = [len(w) for w in per_writer]
    q = statistics.quantiles(waits, n=100)
    return {
        "acquisitions": len(waits),
        "p50_ms": q[49] * 1000,
        "p95_ms": q[94] * 1000,
        "max_ms": waits[-1] * 1000,
        "turns_min": min(turns),
        "turns_max": max(turns),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--writers", type=int, nargs="*", default=[8, 32])
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--hold", type=float, default=5.0, help="ms the lock is held per write")
    parser.add_argument("--think", type=float, default=5.0, help="ms each writer pauses between writes")
    args = parser.parse_args()
    print(
        f"{'lock':<18} {'writers':>7} {'writes':>7} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'turns min-max':>14}"
    )
    for writers in args.writers:
        for kind in LOCKS:  # interleaved: the same minute of the machine for both
            r = run(
                kind, writers, min(args.processes, writers), args.seconds, args.hold / 1000, args.think / 1000
            )
            print(
                f"{kind:<18} {writers:>7} {r['acquisitions']:>7} {r['p50_ms']:>8.1f} {r['p95_ms']:>8.1f} "
                f"{r['max_ms']:>8.1f} {r['turns_min']:>6}-{r['turns_max']:<7}"
            )


if __name__ == "__main__":
    main()
