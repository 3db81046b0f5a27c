import multiprocessing
import os
import signal
import threading
import time
from pathlib import Path

import pytest

from wikibot_shared.locks import LockTimeout, lock_path, repo_lock


def _hold(wikis: str, slug: str, ready: "multiprocessing.synchronize.Event", seconds: float) -> None:
    with repo_lock(Path(wikis), slug):
        ready.set()
        time.sleep(seconds)


def _append_many(wikis: str, log: str, n: int) -> None:
    # A read-modify-write that loses updates without the lock.
    for _ in range(n):
        with repo_lock(Path(wikis), "notes"):
            path = Path(log)
            value = int(path.read_text() or "0") if path.exists() else 0
            path.write_text(str(value + 1))


def test_mutual_exclusion_across_processes(tmp_path: Path) -> None:
    counter = tmp_path / "counter"
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_append_many, args=(str(tmp_path), str(counter), 50)) for _ in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    assert counter.read_text() == "200"


def test_timeout_and_independent_wikis(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    ready = ctx.Event()
    holder = ctx.Process(target=_hold, args=(str(tmp_path), "notes", ready, 5))
    holder.start()
    try:
        assert ready.wait(20)
        started = time.monotonic()
        with pytest.raises(LockTimeout, match="busy"), repo_lock(tmp_path, "notes", timeout=0.2):
            pass
        assert time.monotonic() - started < 2
        with repo_lock(tmp_path, "other", timeout=0.2):  # another wiki is not blocked
            pass
    finally:
        holder.kill()
        holder.join()


def test_lock_released_when_holder_dies(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    ready = ctx.Event()
    holder = ctx.Process(target=_hold, args=(str(tmp_path), "notes", ready, 60))
    holder.start()
    assert ready.wait(20)
    assert holder.pid is not None
    os.kill(holder.pid, signal.SIGKILL)
    holder.join()
    with repo_lock(tmp_path, "notes", timeout=5):
        assert lock_path(tmp_path, "notes").exists()


def test_threads_in_one_process_exclude_each_other(tmp_path: Path) -> None:
    inside = 0
    overlaps = 0
    guard = threading.Lock()

    def work() -> None:
        nonlocal inside, overlaps
        for _ in range(20):
            with repo_lock(tmp_path, "notes"):
                with guard:
                    inside += 1
                    overlaps += inside > 1
                time.sleep(0.001)
                with guard:
                    inside -= 1

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert overlaps == 0


def test_writers_of_one_process_get_the_lock_in_arrival_order(tmp_path: Path) -> None:
    from wikibot_shared import locks

    order: list[int] = []
    release = threading.Event()

    def first() -> None:
        with repo_lock(tmp_path, "notes"):
            order.append(0)
            release.wait(10)

    def writer(n: int) -> None:
        with repo_lock(tmp_path, "notes"):
            order.append(n)

    threads = [threading.Thread(target=first)]
    threads[0].start()
    while not order:
        time.sleep(0.001)
    for n in range(1, 9):  # each arrives after the one before has lined up
        t = threading.Thread(target=writer, args=(n,))
        t.start()
        threads.append(t)
        line = locks._LINES[str(lock_path(tmp_path, "notes"))]
        while len(line.waiting) < n + 1:
            time.sleep(0.001)
    release.set()
    for t in threads:
        t.join(10)
    assert order == list(range(9))
    assert locks._LINES == {}  # an idle repository keeps no line


def test_a_waiter_that_gives_up_in_the_kernel_leaves_the_lock_free(tmp_path: Path) -> None:
    """Blocked on another process's flock, a writer times out; its helper, which gets the lock when the holder
    lets go, hands it straight back: the next writer is not stuck behind a ghost."""
    from wikibot_shared import locks

    ctx = multiprocessing.get_context("spawn")
    ready = ctx.Event()
    holder = ctx.Process(target=_hold, args=(str(tmp_path), "notes", ready, 1.0))
    holder.start()
    try:
        assert ready.wait(20)
        with pytest.raises(LockTimeout), repo_lock(tmp_path, "notes", timeout=0.2):
            pass
        holder.join(20)
        with repo_lock(tmp_path, "notes", timeout=5):
            pass
        assert locks._LINES == {}
    finally:
        holder.kill()
        holder.join()


def test_git_lock_files_a_dead_writer_left_are_cleared(tmp_path: Path) -> None:
    """A git commit SIGKILLed mid-way leaves .git/HEAD.lock (and index.lock...) behind, and git refuses every
    later commit: the next holder of repo_lock removes them. A fresh one (a live git's) is waited for."""
    import subprocess

    from wikibot_shared import locks

    repo = tmp_path / "notes" / "repo"
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    git = repo / ".git"
    (git / "refs" / "heads").mkdir(parents=True, exist_ok=True)
    dead = [git / "HEAD.lock", git / "index.lock", git / "refs" / "heads" / "main.lock"]
    for lock in dead:
        lock.write_text("")
        os.utime(lock, (time.time() - 60, time.time() - 60))
    with repo_lock(tmp_path, "notes"):
        assert not [p for p in dead if p.exists()]
        run = subprocess.run(
            ["git", "-C", str(repo), "-c", "user.name=a", "-c", "user.email=a@b", "commit", "-q",
             "--allow-empty", "-m", "after the crash"],
            capture_output=True, text=True,
        )  # fmt: skip
        assert run.returncode == 0, run.stderr

    fresh = git / "index.lock"
    fresh.write_text("")  # a live git's: gone within moments
    threading.Timer(0.3, fresh.unlink).start()
    started = time.monotonic()
    with repo_lock(tmp_path, "notes"):
        assert not fresh.exists()
    assert 0.25 < time.monotonic() - started < locks.STALE_GIT_LOCK_S

    fresh.write_text("")  # a git that never finishes: removed once it is STALE_GIT_LOCK_S old
    started = time.monotonic()
    with repo_lock(tmp_path, "notes"):
        assert not fresh.exists()
    assert time.monotonic() - started >= locks.STALE_GIT_LOCK_S - 0.2


def _die_mid_write(wikis: str) -> None:
    """What Otterwiki does before it commits (a page written and staged, a new file written), then SIGKILL."""
    import subprocess

    repo = Path(wikis) / "notes" / "repo"
    with repo_lock(Path(wikis), "notes"):
        (repo / "Home.md").write_text("# Ho")  # truncated mid-write
        subprocess.run(["git", "-C", str(repo), "add", "Home.md"], check=True)
        (repo / "Half.md").write_text("never committed\n")
        os.kill(os.getpid(), signal.SIGKILL)


def test_the_unfinished_change_of_a_writer_that_died_holding_the_lock_is_discarded(tmp_path: Path) -> None:
    """The next holder puts the working tree and index back to HEAD, so the dead writer's change can neither
    land in someone else's commit nor make git push refuse a dirty tree; a holder that left normally is trusted."""
    import subprocess

    repo = tmp_path / "notes" / "repo"
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    (repo / "Home.md").write_text("# Home\n")
    subprocess.run(["git", "-C", str(repo), "add", "Home.md"], check=True)
    subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=a", "-c", "user.email=a@b", "commit", "-q", "-m", "start"],
        check=True,
    )
    head = subprocess.run(
        ["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True
    ).stdout

    def status() -> str:
        return subprocess.run(
            ["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=all"],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip

    writer = multiprocessing.get_context("spawn").Process(target=_die_mid_write, args=(str(tmp_path),))
    writer.start()
    writer.join(30)
    assert writer.exitcode == -signal.SIGKILL
    assert status() == "M  Home.md\n?? Half.md\n"  # what it left

    with repo_lock(tmp_path, "notes"):
        assert status() == ""
        assert (repo / "Home.md").read_text() == "# Home\n"
    assert (
        subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True).stdout
        == head
    )

    # A holder that left (even by an exception) is not taken for dead: what is in the tree afterwards is not ours.
    with pytest.raises(RuntimeError), repo_lock(tmp_path, "notes"):
        raise RuntimeError("a failed write cleans up after itself")
    (repo / "Outside.md").write_text("not a writer's\n")
    with repo_lock(tmp_path, "notes"):
        assert status() == "?? Outside.md\n"
