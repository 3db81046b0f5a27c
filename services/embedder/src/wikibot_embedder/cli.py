"""``wikibot-search``: the operator's view of the search indexes (``docker compose exec embedder wikibot-search``).

    wikibot-search status [WIKI] [--json]          indexed commit, HEAD, commits behind, chunks, last error
    wikibot-search reindex WIKI [--full] [--json]  bring WIKI's index to HEAD now (--full: rebuild from scratch)
    wikibot-search reindex --all [--full] [--json] every wiki

Reindexing runs in this process with the same per-wiki lock as the worker, so it is safe next to running
replicas: if one is writing the wiki, the command waits for it. Its progress and one line per wiki go to stderr;
``--json`` prints the outcome of every wiki to stdout instead of those lines (as ``wikibot-admin`` does).
"""

from __future__ import annotations

import json
import time
from typing import Annotated, Any, NoReturn

import typer
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from wikibot_shared.config import settings_or_exit
from wikibot_shared.db import make_engine, make_session_factory
from wikibot_shared.models import IndexState, Wiki
from wikibot_shared.progress import progress
from wikibot_shared.queue import redis_client
from wikibot_shared.storage import wiki_paths

from . import gitsource
from .config import EmbedderSettings
from .encoder import shared_encoder
from .indexer import Busy, Indexer, MissingRepo, SyncResult
from .service import lag
from .store import read_meta

WAIT_SECONDS = 600.0

app = typer.Typer(help="Wikibot search indexes.", no_args_is_help=True, add_completion=False)
JsonOption = Annotated[bool, typer.Option("--json", help="machine-readable output")]


def _settings() -> tuple[EmbedderSettings, sessionmaker[Session]]:
    settings = settings_or_exit(EmbedderSettings)
    assert settings.database_url
    return settings, make_session_factory(make_engine(settings.database_url))


def _no_wiki(slug: str) -> NoReturn:
    typer.echo(f"error: there is no wiki '{slug}'", err=True)
    raise typer.Exit(2)


def _print_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, default=str))


@app.command("status")
def status(
    wiki: Annotated[str | None, typer.Argument(help="one wiki (default: all)", show_default=False)] = None,
    as_json: JsonOption = False,
) -> None:
    """Index state of every wiki (or one): indexed commit, HEAD, commits behind, chunks, last error."""
    settings, db = _settings()
    with db() as session:
        if wiki is not None and session.get(Wiki, wiki) is None:
            _no_wiki(wiki)
        slugs = [wiki] if wiki else list(session.scalars(select(Wiki.slug).order_by(Wiki.slug)))
        errors = {s.wiki_slug: s.error for s in session.scalars(select(IndexState))}
    rows = [_state(settings, slug, errors.get(slug)) for slug in slugs]
    if as_json:
        _print_json(rows)
        return
    typer.echo(f"{'wiki':<24} {'indexed':<12} {'head':<12} {'behind':>6} {'chunks':>7}  error")
    for r in rows:
        behind = "?" if r["lag_commits"] is None else r["lag_commits"]
        typer.echo(
            f"{r['wiki']:<24} {(r['indexed_commit'] or '-')[:12]:<12} {(r['head_commit'] or '-')[:12]:<12} "
            f"{behind:>6} {r['chunks']:>7}  {r['error'] or ''}"
        )


def _state(settings: EmbedderSettings, slug: str, error: str | None) -> dict[str, Any]:
    """The keys of the embedder API's ``GET /status``, and the last error."""
    paths = wiki_paths(settings.wikis_dir, slug)
    meta = read_meta(paths.index)
    head = gitsource.head(paths.repo) if paths.repo.is_dir() else None
    indexed = meta.commit if meta else None
    return {
        "wiki": slug,
        "indexed_commit": indexed,
        "head_commit": head,
        "chunks": meta.chunks if meta else 0,
        "lag_commits": lag(paths.repo, indexed, head),
        "model": meta.model if meta else None,
        "error": error,
    }


@app.command("reindex")
def reindex(
    wiki: Annotated[str | None, typer.Argument(help="the wiki (or --all)", show_default=False)] = None,
    every: Annotated[bool, typer.Option("--all", help="every wiki")] = False,
    full: Annotated[bool, typer.Option("--full", help="rebuild from scratch (re-embed every page)")] = False,
    as_json: JsonOption = False,
) -> None:
    """Bring indexes to HEAD now; exit status 1 if any wiki could not be indexed."""
    if (wiki is None) != every:
        raise typer.BadParameter("give one WIKI or --all", param_hint="'WIKI' / '--all'")
    settings, db = _settings()
    if wiki is not None:
        with db() as session:
            if session.get(Wiki, wiki) is None:
                _no_wiki(wiki)
    indexer = Indexer(
        settings, shared_encoder(settings.max_tokens, settings.threads), db, redis_client(settings.redis_url)
    )
    outcomes = []
    for slug in indexer.all_wikis() if wiki is None else [wiki]:
        outcome = _reindex(indexer, slug, full=full)
        if not as_json:
            typer.echo(f"{slug}: {_describe(outcome)} ({outcome['seconds']:.1f}s)", err=True)
        outcomes.append(outcome)
    if as_json:
        _print_json(outcomes)
    if any(o["outcome"] in ("busy", "failed") for o in outcomes):
        raise typer.Exit(1)


def _reindex(indexer: Indexer, slug: str, *, full: bool) -> dict[str, Any]:
    """``outcome``: indexed, skipped (no repository), busy (another replica kept the lock) or failed."""
    started = time.monotonic()
    with progress(slug, "pages") as show:
        while True:
            try:
                return _outcome(slug, "indexed", started, indexer.sync(slug, full=full, progress=show))
            except Busy:
                if time.monotonic() - started > WAIT_SECONDS:
                    return _outcome(
                        slug, "busy", started, reason="another replica kept the lock; try again later"
                    )
                time.sleep(0.5)
            except MissingRepo:
                return _outcome(slug, "skipped", started, reason="no repository")
            except Exception as exc:  # noqa: BLE001 - one outcome per wiki for the operator; the rest still run
                return _outcome(slug, "failed", started, reason=f"{type(exc).__name__}: {exc}")


def _outcome(
    slug: str, outcome: str, started: float, result: SyncResult | None = None, reason: str | None = None
) -> dict[str, Any]:
    return {
        "wiki": slug,
        "outcome": outcome,
        "reason": reason,
        "commit": result.commit if result else None,
        "previous_commit": result.previous if result else None,
        "full": result.full if result else None,
        "pages_embedded": len(result.indexed) if result else None,
        "chunks_embedded": result.embedded if result else None,
        "pages_removed": len(result.removed) if result else None,
        "chunks": result.chunks if result else None,
        "seconds": round(time.monotonic() - started, 3),
    }


def _describe(o: dict[str, Any]) -> str:
    if o["outcome"] != "indexed":
        return f"{o['outcome']}: {o['reason']}"
    return (
        f"at {(o['commit'] or '-')[:12]}: {o['pages_embedded']} pages embedded ({o['chunks_embedded']} chunks), "
        f"{o['pages_removed']} removed, {o['chunks']} chunks in the index"
    )


if __name__ == "__main__":
    app(prog_name="wikibot-search")
