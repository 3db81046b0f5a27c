"""``wikibot-search`` as an operator runs it, in its own process: status, reindex (plain progress lines, since
stderr is a pipe here), ``--json``, and a kill -9 mid-batch."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import pytest

from services.embedder.tests.support import Wikis
from tests.support.terminal import run_on_terminal
from wikibot_embedder.config import EmbedderSettings
from wikibot_embedder.indexer import Indexer
from wikibot_embedder.store import read_meta


def env(settings: EmbedderSettings, **extra: str) -> dict[str, str]:
    return {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", "/tmp"),
        "DATA_DIR": str(settings.data_dir),
        "DATABASE_URL": str(settings.database_url),
        "REDIS_URL": settings.redis_url,
        "LOG_LEVEL": "WARNING",
        **extra,
    }


def cli(settings: EmbedderSettings, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "wikibot_embedder.cli", *args],
        env=env(settings, **extra),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def lines(stream: str) -> list[str]:
    """The output's lines, each wiki's elapsed time ``(0.4s)`` replaced by ``(…s)``."""
    return [re.sub(r" \(\d+\.\ds\)$", " (…s)", line) for line in stream.splitlines()]


def test_reindex_then_status(settings: EmbedderSettings, wikis: Wikis) -> None:
    head = wikis.create("notes", {"A.md": "alpha", "B.md": "beta"})
    other = wikis.create("other")
    done = cli(settings, "reindex", "notes")
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    assert lines(done.stderr) == [
        "notes: 0/2 pages",
        "notes: 2/2 pages",
        f"notes: at {head[:12]}: 2 pages embedded (2 chunks), 0 removed, 2 chunks in the index (…s)",
    ]
    status = cli(settings, "status")
    assert status.returncode == 0, status.stderr
    assert (
        status.stdout.splitlines()
        == [
            "wiki                     indexed      head         behind  chunks  error",
            f"notes                    {head[:12]} {head[:12]}      0       2  ",
            f"other                    -            {other[:12]}      1       0  ",  # never indexed, a commit behind
        ]
    )
    again = cli(settings, "reindex", "notes")  # already at HEAD: nothing to do, so no progress lines
    assert lines(again.stderr) == [
        f"notes: at {head[:12]}: 0 pages embedded (0 chunks), 0 removed, 2 chunks in the index (…s)"
    ]
    every = cli(settings, "reindex", "--all", "--full")
    assert every.returncode == 0, every.stderr
    assert lines(every.stderr) == [
        "notes: 0/2 pages",
        "notes: 2/2 pages",
        f"notes: at {head[:12]}: 2 pages embedded (2 chunks), 0 removed, 2 chunks in the index (…s)",
        "other: 0/1 pages",
        "other: 1/1 pages",
        f"other: at {other[:12]}: 1 pages embedded (1 chunks), 0 removed, 1 chunks in the index (…s)",
    ]


def test_reindex_on_a_terminal_draws_a_bar(settings: EmbedderSettings, wikis: Wikis) -> None:
    head = wikis.create("notes", {"A.md": "alpha", "B.md": "beta"})
    run = run_on_terminal(
        [sys.executable, "-m", "wikibot_embedder.cli", "reindex", "notes"], env(settings, TERM="xterm")
    )
    assert run.returncode == 0, run.terminal
    assert run.stdout == b""
    drawn = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", run.terminal.decode())  # without colours and cursor moves
    assert "notes ━" in drawn  # the bar, cleared when the wiki is done
    assert "notes: 0/2 pages" not in drawn  # instead of plain lines
    summary = drawn.splitlines()[-1]
    assert re.fullmatch(
        rf"notes: at {head[:12]}: 2 pages embedded \(2 chunks\), 0 removed, 2 chunks in the index \(\d+\.\ds\)",
        summary,
    ), drawn


def test_reindex_and_status_json(settings: EmbedderSettings, wikis: Wikis, indexer: Indexer) -> None:
    """``--json`` puts one object per wiki on stdout instead of the lines; progress still goes to stderr."""
    head = wikis.create("notes", {"A.md": "alpha", "B.md": "beta"})
    wikis.create("gone")
    shutil.rmtree(wikis.repo("gone"))
    done = cli(settings, "reindex", "--all", "--json")
    assert done.returncode == 0, done.stderr  # a wiki without a repository is skipped, not a failure
    assert done.stderr.splitlines() == ["notes: 0/2 pages", "notes: 2/2 pages"]
    outcomes = json.loads(done.stdout)
    assert all(isinstance(o.pop("seconds"), float) for o in outcomes)
    assert outcomes == [
        {
            "wiki": "gone",
            "outcome": "skipped",
            "reason": "no repository",
            "commit": None,
            "previous_commit": None,
            "full": None,
            "pages_embedded": None,
            "chunks_embedded": None,
            "pages_removed": None,
            "chunks": None,
        },
        {
            "wiki": "notes",
            "outcome": "indexed",
            "reason": None,
            "commit": head,
            "previous_commit": None,
            "full": True,
            "pages_embedded": 2,
            "chunks_embedded": 2,
            "pages_removed": 0,
            "chunks": 2,
        },
    ]
    status = cli(settings, "status", "notes", "--json")
    assert status.returncode == 0, status.stderr
    meta = read_meta(indexer.index_dir("notes"))
    assert meta is not None
    assert json.loads(status.stdout) == [
        {
            "wiki": "notes",
            "indexed_commit": head,
            "head_commit": head,
            "chunks": 2,
            "lag_commits": 0,
            "model": meta.model,
            "error": None,
        }
    ]


def test_unknown_wiki_and_bad_usage(settings: EmbedderSettings, wikis: Wikis) -> None:
    for args in (["reindex", "ghost"], ["reindex", "ghost", "--json"], ["status", "ghost"]):
        missing = cli(settings, *args)
        assert (missing.returncode, missing.stdout, missing.stderr) == (
            2,
            "",
            "error: there is no wiki 'ghost'\n",
        )
    wikis.create("notes")
    for args in (["reindex"], ["reindex", "notes", "--all"]):  # WIKI or --all, not neither, not both
        usage = cli(settings, *args)
        assert usage.returncode == 2
        assert "give one WIKI or --all" in usage.stderr
    assert cli(settings, "reindex", "notes", "--fast").returncode == 2  # an unknown option


def test_kill_minus_nine_mid_batch_then_restart_converges(
    settings: EmbedderSettings, wikis: Wikis, indexer: Indexer
) -> None:
    pages = {
        f"Page {i:03d}.md": f"# Page {i}\n\nNote {i} on subject{i}, " + "with words. " * 30
        for i in range(120)
    }
    wikis.create("notes")
    head = wikis.commit("notes", pages)
    small = {"EMBEDDER_BATCH_SIZE": "4", "EMBEDDER_CHECKPOINT_CHUNKS": "16", "EMBEDDER_LOCK_TTL_MS": "2000"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "wikibot_embedder.cli", "reindex", "notes"],
        env=env(settings, **small),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    index = indexer.index_dir("notes")
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            meta = read_meta(index)
            if meta is not None and meta.chunks >= 32:
                break
            assert proc.poll() is None, "finished before it could be killed"
            time.sleep(0.02)
        else:
            pytest.fail("no checkpoint was published")
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    partial = read_meta(index)
    assert partial is not None
    assert partial.commit != head
    assert 32 <= partial.chunks < 121
    again = cli(settings, "reindex", "notes", **small)  # waits out the dead process's lock
    assert again.returncode == 0, again.stderr
    meta = read_meta(index)
    assert meta is not None
    assert (meta.commit, meta.chunks) == (head, 121)
    *progress, summary = lines(again.stderr)
    todo = int(progress[0].removeprefix("notes: 0/").removesuffix(" pages"))
    assert todo < 120  # resumed: checkpointed pages are not to do again
    done = [int(re.fullmatch(rf"notes: (\d+)/{todo} pages", line)[1]) for line in progress]  # type: ignore[index]
    tenths = [10 * n // todo for n in done]  # plain lines: the first, one per further tenth, the last
    assert (done[0], done[-1]) == (0, todo)
    assert tenths == sorted(set(tenths))
    found = re.fullmatch(
        rf"notes: at {head[:12]}: {todo} pages embedded \((\d+) chunks\), 0 removed, 121 chunks in the index \(…s\)",
        summary,
    )
    assert found, summary
    assert int(found[1]) <= 121 - partial.chunks + 1  # checkpointed pages were not embedded again
