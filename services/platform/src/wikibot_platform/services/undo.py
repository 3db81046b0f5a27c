""" "Undo this app": what one connected app or token changed on a wiki, and reverting all of it in one commit
(``wikibot_shared.undo``; docs/proposals.md).

Who: the wiki's owners for any credential, and a writer for their own. Files someone else changed after the
agent are listed and left alone unless the person confirms each (``confirm``); everything else goes back to
what it was before the agent's first change in the window, as one new commit by the person, under the wiki's
lock, within their folders and the wiki's tier.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from typing import Literal

import redis
from sqlalchemy.orm import Session

from wikibot_shared import acl, git, undo
from wikibot_shared.errors import Conflict, Forbidden, InputError, NotFound
from wikibot_shared.locks import repo_lock
from wikibot_shared.models import AccessToken, OAuthClient, OAuthGrant, Wiki
from wikibot_shared.queue import notify_change
from wikibot_shared.storage import Author, wiki_paths
from wikibot_shared.tiers import check_growth, repo_usage, tier_for
from wikibot_shared.verify import Principal

from ..config import PlatformSettings
from ..schemas import AgentActivity, AgentCommit, AgentFile, UndoRequest, UndoResult
from .wikis import access

log = logging.getLogger("wikibot.platform.undo")
Kind = Literal["apps", "tokens"]
MAX_CONFIRM = 1000


def _credential(db: Session, slug: str, principal: Principal, kind: Kind, cid: str) -> tuple[str, str]:
    """The credential's trailer kind and display name, if ``principal`` may look at (and undo) what it did."""
    found = access(db, slug, principal, acl.Action.READ)
    if kind == "apps":
        grant = db.get(OAuthGrant, cid)
        if grant is None or grant.wiki_slug != slug:
            raise NotFound(f"no connected app {cid!r} on '{slug}'", code="unknown_app")
        client = db.get(OAuthClient, grant.client_id)
        owner, name, trailer_kind = grant.user_did, (client.client_name if client else None) or cid, "oauth"
    else:
        token = db.get(AccessToken, cid)
        if token is None or token.wiki_slug != slug:
            raise NotFound(f"no token {cid!r} on '{slug}'", code="unknown_token")
        owner, name, trailer_kind = token.owner_did, token.name, "pat"
    if not found.can(acl.Action.MANAGE) and not (owner == principal.did and found.can(acl.Action.WRITE)):
        raise Forbidden("owners undo any agent's changes; writers undo their own agents'", code="forbidden")
    return trailer_kind, name


def _view(name: str, kind: Kind, cid: str, since: datetime | None, found: undo.Activity) -> AgentActivity:
    return AgentActivity(
        kind=kind,
        id=cid,
        name=name,
        since=since,
        head=found.head,
        commits=[
            AgentCommit(
                commit=c.sha, at=datetime.fromtimestamp(c.when, UTC), message=c.subject, paths=list(c.paths)
            )
            for c in found.commits
        ],
        files=[
            AgentFile(
                path=f.path,
                action="delete" if f.restore_to is None else "restore",
                commits=f.commits,
                changed_since_by=f.others,
                changed_since=f.changed_since,
            )
            for f in found.files
        ],
    )


def activity(
    db: Session,
    settings: PlatformSettings,
    slug: str,
    principal: Principal,
    kind: Kind,
    cid: str,
    since: datetime | None = None,
) -> AgentActivity:
    trailer_kind, name = _credential(db, slug, principal, kind, cid)
    repo = wiki_paths(settings.wikis_dir, slug).repo
    return _view(name, kind, cid, since, undo.activity(repo, trailer_kind, cid, since))


def revert(
    db: Session,
    settings: PlatformSettings,
    client: redis.Redis,
    slug: str,
    principal: Principal,
    kind: Kind,
    cid: str,
    request: UndoRequest,
) -> UndoResult:
    trailer_kind, name = _credential(db, slug, principal, kind, cid)
    confirm = set(request.confirm or [])
    if len(confirm) > MAX_CONFIRM:
        raise InputError(f"at most {MAX_CONFIRM} files can be confirmed at once", code="invalid_request")
    repo = wiki_paths(settings.wikis_dir, slug).repo
    person = access(db, slug, principal, acl.Action.WRITE)
    area = acl.write_area(person, None, "session")
    with repo_lock(settings.wikis_dir, slug):
        found = undo.activity(repo, trailer_kind, cid, request.since)
        if request.expect_head and request.expect_head != found.head:
            raise Conflict(
                "the wiki changed since you looked at this list; look again before undoing", code="stale_list"
            )
        unknown = sorted(confirm - {f.path for f in found.files if not f.clean})
        if unknown:
            raise InputError(f"not a file someone else changed since: {unknown[0]}", code="invalid_request")
        chosen = [f for f in found.files if f.clean or f.path in confirm]
        left = [f.path for f in found.files if not f.clean and f.path not in confirm]
        if not chosen:
            raise Conflict(
                "nothing to undo: the agent changed nothing here in this window, or others changed every file "
                "since (confirm those you want back)",
                code="nothing_to_undo",
            )
        area.check(area.outside([f.path for f in chosen]))
        tree = undo.revert_tree(repo, found.head, chosen)
        wiki = db.get(Wiki, slug)
        assert wiki is not None
        after = repo_usage(repo, tree)
        check_growth(tier_for(settings.tiers, wiki.tier), repo_usage(repo, found.head), after)
        when = f"since {request.since:%Y-%m-%d %H:%M} UTC" if request.since else "ever"
        lines = "\n".join(f"- {f.path}" for f in chosen)
        message = f"Undo what {name} changed {when}\n\n{lines}\n\nReverts: {len(found.commits)} commit(s)\n"
        author = Author.for_did(principal.did or "", principal.handle)
        env = {**author.env, "GIT_AUTHOR_DATE": f"@{int(time.time())} +0000"}
        commit = (
            git.run(repo, "commit-tree", tree, "-p", found.head, "-F", "-", input=message.encode(), env=env)
            .decode()
            .strip()
        )
        git.run(repo, "merge", "--ff-only", "-q", commit)
        wiki.page_count, wiki.bytes = after.pages, after.bytes
        db.commit()
    log.info("agent's changes undone", extra={"wiki": slug, "credential": cid, "by": principal.did})
    paths = [f.path for f in chosen]
    try:
        notify_change(client, slug, source="platform", commit=commit, paths=paths)
    except redis.RedisError as exc:  # a hint: the embedder's sweep finds the commit anyway
        log.warning("could not notify the indexer", extra={"wiki": slug, "error": str(exc)})
    return UndoResult(commit=commit, reverted=paths, left_alone=left)
