"""Progress of a long operator command (``wikibot-search reindex``, ``wikibot-admin backup``), on stderr only.

On a terminal it is rich's live bar, cleared when the work ends. Anywhere else (``docker compose exec -T``, CI
logs, a pipe) it is plain lines: the first update, one at each further tenth, the last, and between those the
next update once ``HEARTBEAT`` seconds have passed, so a long run does not look hung. Rich decides what a
terminal is, so its switches apply (``TTY_INTERACTIVE=0`` asks for plain lines, ``TERM=dumb`` too). Nothing is
ever written to stdout: ``backup create -`` streams the archive there.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol, TextIO

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
from rich.progress import Progress as RichProgress

HEARTBEAT = 30.0  # seconds


class Progress(Protocol):
    """``progress(done, total, doing)``: ``done`` of ``total`` units finished; ``doing`` says what runs now."""

    def __call__(self, done: int, total: int, doing: str = "", /) -> None: ...


def no_progress(done: int, total: int, doing: str = "", /) -> None:
    """Report nothing (what library calls do unless a command passes a display)."""


@contextmanager
def progress(label: str, unit: str) -> Iterator[Progress]:
    """Show one task's progress on stderr while the block runs, e.g. ``progress("notes", "pages")``."""
    console = Console(stderr=True)
    if not console.is_interactive:
        yield _Lines(sys.stderr, label, unit)
        return
    display = RichProgress(
        TextColumn("{task.description}", markup=False),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[unit]}", markup=False),
        TimeElapsedColumn(),
        TextColumn("{task.fields[doing]}", markup=False),
        console=console,
        transient=True,
        redirect_stdout=False,  # stdout may be an archive in transit
        redirect_stderr=False,
    )
    task = display.add_task(label, total=None, unit=unit, doing="")

    def update(done: int, total: int, doing: str = "", /) -> None:
        display.update(task, completed=done, total=total, doing=doing)

    with display:
        yield update


class _Lines:
    """``notes: 120/240 pages`` or ``backup: 1/3 steps, bundling notes``, each line flushed."""

    def __init__(self, stream: TextIO, label: str, unit: str) -> None:
        self.stream = stream
        self.label = label
        self.unit = unit
        self.shown: tuple[int, int, str] | None = None
        self.tenth = -1
        self.at = time.monotonic()

    def __call__(self, done: int, total: int, doing: str = "", /) -> None:
        tenth = 10 * done // total if total > 0 else 10
        due = tenth > self.tenth or done >= total or time.monotonic() - self.at >= HEARTBEAT
        if not due or (done, total, doing) == self.shown:
            return
        self.shown, self.tenth, self.at = (done, total, doing), tenth, time.monotonic()
        line = f"{self.label}: {done}/{total} {self.unit}" + (f", {doing}" if doing else "")
        self.stream.write(line + "\n")
        self.stream.flush()
