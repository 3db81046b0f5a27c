"""``wikibot-search``: the operator's view of the search indexes (``docker compose exec embedder wikibot-search``).

    wikibot-search status [WIKI]           indexed commit, HEAD, commits behind, chunks, last error
    wikibot-search reindex WIKI [--full]   bring WIKI's index to HEAD now (--full: rebuild from scratch)
    wikibot-search reindex --all [--full]  every wiki

Reindexing runs in this process with the same per-wiki lock as the worker, so it is safe next to running
replicas: if one is writing the wiki, the command waits for it.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import TextIO

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from wikibot_shared.config import settings_or_exit
from wikibot_shared.db import make_engine, make_session_factory
from wikibot_shared.models import IndexState, Wiki
from wikibot_shared.queue import redis_client
from wikibot_shared.storage import wiki_paths

from . import gitsource
from .config import EmbedderSettings
from .encoder import shared_encoder
from .indexer import Busy, Indexer, MissingRepo
from .service import lag
from .store import read_meta

WAIT_SECONDS = 600.0


class ProgressBar:
    """``notes  [##########----------]  120/240 pages`` on a terminal; one line per wiki otherwise."""

    def __init__(self, label: str, stream: TextIO = sys.stderr, width: int = 30) -> None:
        self.label = label
        self.stream = stream
        self.width = width
        self.tty = stream.isatty()
        self.started = time.monotonic()

    def __call__(self, done: int, total: int) -> None:
        if not self.tty:
            return
        filled = self.width if total == 0 else self.width * done // total
        bar = "#" * filled + "-" * (self.width - filled)
        self.stream.write(f"\r{self.label:<20} [{bar}] {done:>6}/{total} pages")
        self.stream.flush()

    def finish(self, message: str) -> None:
        elapsed = time.monotonic() - self.started
        self.stream.write(("\r" if self.tty else "") + f"{self.label:<20} {message} ({elapsed:.1f}s)\x1b[K\n")
        self.stream.flush()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="wikibot-search", description="Wikibot search indexes.")
    sub = parser.add_subparsers(dest="command", required=True)
    status = sub.add_parser("status", help="index state of every wiki (or one)")
    status.add_argument("wiki", nargs="?")
    reindex = sub.add_parser("reindex", help="bring indexes to HEAD now")
    target = reindex.add_mutually_exclusive_group(required=True)
    target.add_argument("wiki", nargs="?")
    target.add_argument("--all", action="store_true", help="every wiki")
    reindex.add_argument("--full", action="store_true", help="rebuild from scratch (re-embed every page)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    settings = settings_or_exit(EmbedderSettings)
    assert settings.database_url
    db = make_session_factory(make_engine(settings.database_url))
    client = redis_client(settings.redis_url)
    if args.command == "status":
        return _status(settings, db, args.wiki)
    indexer = Indexer(settings, shared_encoder(settings.max_tokens, settings.threads), db, client)
    wikis = indexer.all_wikis() if args.all else [args.wiki]
    if not args.all and not indexer.known(args.wiki):
        print(f"error: there is no wiki '{args.wiki}'", file=sys.stderr)
        return 2
    failed = 0
    for slug in wikis:
        failed += not _reindex(indexer, slug, full=args.full)
    return 1 if failed else 0


def _reindex(indexer: Indexer, slug: str, *, full: bool) -> bool:
    bar = ProgressBar(slug)
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        try:
            result = indexer.sync(slug, full=full, progress=bar)
        except Busy:
            if time.monotonic() > deadline:
                bar.finish("busy: another replica kept the lock; try again later")
                return False
            time.sleep(0.5)
            continue
        except MissingRepo:
            bar.finish("skipped: no repository")
            return True
        except Exception as exc:  # noqa: BLE001 - one line per wiki for the operator; the rest still run
            bar.finish(f"failed: {type(exc).__name__}: {exc}")
            return False
        commit = (result.commit or "-")[:12]
        bar.finish(
            f"at {commit}: {len(result.indexed)} pages embedded ({result.embedded} chunks), "
            f"{len(result.removed)} removed, {result.chunks} chunks in the index"
        )
        return True


def _status(settings: EmbedderSettings, db: sessionmaker[Session], wiki: str | None) -> int:
    with db() as session:
        slugs = [wiki] if wiki else list(session.scalars(select(Wiki.slug).order_by(Wiki.slug)))
        if wiki and session.get(Wiki, wiki) is None:
            print(f"error: there is no wiki '{wiki}'", file=sys.stderr)
            return 2
        errors = {s.wiki_slug: s.error for s in session.scalars(select(IndexState))}
    print(f"{'wiki':<24} {'indexed':<12} {'head':<12} {'behind':>6} {'chunks':>7}  error")
    for slug in slugs:
        paths = wiki_paths(settings.wikis_dir, slug)
        meta = read_meta(paths.index)
        head = gitsource.head(paths.repo) if paths.repo.is_dir() else None
        indexed = meta.commit if meta else None
        behind = lag(paths.repo, indexed, head)
        print(
            f"{slug:<24} {(indexed or '-')[:12]:<12} {(head or '-')[:12]:<12} "
            f"{'?' if behind is None else behind:>6} {meta.chunks if meta else 0:>7}  {errors.get(slug) or ''}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
