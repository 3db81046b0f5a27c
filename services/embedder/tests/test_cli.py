"""``wikibot-search`` as an operator runs it, in its own process: status, reindex, and a kill -9 mid-batch."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from wikibot_embedder.config import EmbedderSettings
from wikibot_embedder.indexer import Indexer
from wikibot_embedder.store import read_meta

from .conftest import Wikis


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


def test_reindex_then_status(settings: EmbedderSettings, wikis: Wikis) -> None:
    head = wikis.create("notes", {"A.md": "alpha", "B.md": "beta"})
    wikis.create("other")
    done = cli(settings, "reindex", "notes")
    assert done.returncode == 0, done.stderr
    assert f"at {head[:12]}: 2 pages embedded (2 chunks), 0 removed, 2 chunks in the index" in done.stderr
    status = cli(settings, "status")
    assert status.returncode == 0, status.stderr
    rows = {line.split()[0]: line.split() for line in status.stdout.splitlines()[1:]}
    assert rows["notes"][1:5] == [head[:12], head[:12], "0", "2"]
    assert rows["other"][1] == "-"  # never indexed
    assert rows["other"][3] == "1"  # one commit behind
    every = cli(settings, "reindex", "--all", "--full")
    assert every.returncode == 0, every.stderr
    assert "other" in every.stderr


def test_unknown_wiki_and_bad_usage(settings: EmbedderSettings, wikis: Wikis) -> None:
    missing = cli(settings, "reindex", "ghost")
    assert missing.returncode == 2
    assert missing.stderr.strip() == "error: there is no wiki 'ghost'"
    assert cli(settings, "reindex").returncode == 2  # argparse: WIKI or --all required
    assert cli(settings, "status", "ghost").returncode == 2


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
    embedded = int(again.stderr.split("(")[1].split()[0])
    assert embedded <= 121 - partial.chunks + 1  # resumed: checkpointed pages were not embedded again
