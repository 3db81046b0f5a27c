"""Diagnostic (not part of ``make bench``): ``write_note`` at 8 writers on our stack with the embedder running and
stopped, interleaved, through the anchor harness's load generator — how much of a write's cost and stalls the
embedder accounts for (issue 19).

    .venv/bin/python bench/diag_writes_embedder.py [rounds]
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_anchor as b

ALL = tuple(b.OUR_SERVICES)


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    with b.our_stack() as ours, open("/tmp/diag_writes.jsonl", "w") as sink:  # noqa: S108 - scratch rows
        ours.reset(90)
        for r in range(rounds):
            for off in (False, True):
                b.OUR_SERVICES = tuple(s for s in ALL if s != "embedder") if off else ALL
                if off:
                    ours.stack.compose_cmd("stop", "embedder")
                label = "ours embedder " + ("off" if off else "on")
                b.load(ours, label, ["write_note"], ["--concurrency", "8"], r, sink)
                if off:
                    ours.stack.compose_cmd("up", "-d", "--wait", "embedder")
                    ours.settle()


if __name__ == "__main__":
    main()
