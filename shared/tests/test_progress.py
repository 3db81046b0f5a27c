"""The progress display: plain lines where stderr is not a terminal, rich's live bar where it is (a real
pseudo-terminal), and never a byte on stdout."""

from __future__ import annotations

import re
import sys
import textwrap

import pytest

from tests.support.terminal import run_on_terminal
from wikibot_shared.progress import progress

TERMINAL_SWITCHES = ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "NO_COLOR")

# Three steps with something on stdout between each, the way ``backup create -`` streams an archive.
SCRIPT = textwrap.dedent(
    """
    import sys, time
    from wikibot_shared.progress import progress
    with progress("backup", "steps") as show:
        for done, doing in enumerate(["dumping the database", "bundling notes", "writing the archive"]):
            show(done, 3, doing)
            sys.stdout.buffer.write(bytes([done]) * 5000)
            sys.stdout.buffer.flush()
            time.sleep(0.3)
        show(3, 3)
    sys.stdout.buffer.write(b"end")
    """
)
STREAMED = b"\x00" * 5000 + b"\x01" * 5000 + b"\x02" * 5000 + b"end"


@pytest.fixture(autouse=True)
def _no_terminal_switches(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in TERMINAL_SWITCHES:
        monkeypatch.delenv(name, raising=False)


def test_plain_lines_at_each_tenth_when_not_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    with progress("notes", "pages") as show:
        for done in range(0, 101, 4):
            show(done, 100)
        show(100, 100)  # the same count again is not a new line
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == [
        f"notes: {done}/100 pages" for done in (0, 12, 20, 32, 40, 52, 60, 72, 80, 92, 100)
    ]


def test_plain_lines_name_the_step_and_follow_a_growing_total(capsys: pytest.CaptureFixture[str]) -> None:
    with progress("restore", "steps") as show:
        show(0, 1, "unpacking the archive")  # how many wikis is known once the archive is open
        show(1, 3, "loading the database")
        show(2, 3, "cloning notes")
        show(3, 3)
    assert capsys.readouterr().err.splitlines() == [
        "restore: 0/1 steps, unpacking the archive",
        "restore: 1/3 steps, loading the database",
        "restore: 2/3 steps, cloning notes",
        "restore: 3/3 steps",
    ]


def test_nothing_to_do_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with progress("notes", "pages") as show:
        show(0, 0)
    assert capsys.readouterr().err == "notes: 0/0 pages\n"


def test_live_bar_on_a_terminal_leaves_stdout_alone() -> None:
    run = run_on_terminal([sys.executable, "-c", SCRIPT], env={"PATH": "/usr/bin:/bin", "TERM": "xterm"})
    assert run.returncode == 0, run.terminal
    assert run.stdout == STREAMED
    drawn = run.terminal.decode()
    assert "\x1b[1A\x1b[2K" in drawn  # drawn in place: at the end the cursor goes back up and clears the bar
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", drawn)  # without colours and cursor moves
    assert "backup ━" in text
    assert "bundling notes" in text
    assert "3/3 steps" in text
    assert "backup: " not in text  # no plain lines on a terminal


def test_tty_interactive_0_asks_for_plain_lines_on_a_terminal() -> None:
    run = run_on_terminal(
        [sys.executable, "-c", SCRIPT], env={"PATH": "/usr/bin:/bin", "TERM": "xterm", "TTY_INTERACTIVE": "0"}
    )
    assert run.returncode == 0, run.terminal
    assert run.stdout == STREAMED
    assert run.terminal.decode().splitlines() == [  # the terminal turns \n into \r\n
        "backup: 0/3 steps, dumping the database",
        "backup: 1/3 steps, bundling notes",
        "backup: 2/3 steps, writing the archive",
        "backup: 3/3 steps",
    ]
