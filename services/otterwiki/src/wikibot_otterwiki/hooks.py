"""What Wikibot adds inside Otterwiki's Flask app (installed once per process by ``boot``).

- ``policy`` (before each request, after routing): Otterwiki's sign-in, registration, user and permission
  pages become links to the platform; its git server and pull webhook do not exist; editing a lapsed wiki gets
  a clear page; the repository writers (save, rename, delete, uploads, revert, housekeeping) take the wiki's
  ``repo_lock`` for the whole request.
- ``finish`` (teardown): after a commit, record the wiki's size and notify the embedder, then release the lock.
- ``ChangeRecorder``: Otterwiki's ``repository_changed`` plugin hook feeds the changed paths to the request.
- error pages for Wikibot's refusals (lapsed, tier limit, busy) and for Otterwiki's own 403 and 413.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, abort, redirect, render_template, request
from flask.typing import ResponseReturnValue
from jinja2 import ChoiceLoader, FileSystemLoader
from otterwiki.auth import login_manager
from otterwiki.helper import toast
from otterwiki.plugins import hookimpl, plugin_manager
from werkzeug.exceptions import Forbidden as HTTPForbidden
from werkzeug.exceptions import RequestEntityTooLarge

from wikibot_shared.acl import Action, lapsed_refusal
from wikibot_shared.errors import LimitExceeded, ReadOnly, WikibotError
from wikibot_shared.handoff import safe_path
from wikibot_shared.locks import LockTimeout
from wikibot_shared.tiers import repo_usage

from . import session
from .context import WikiRequest, current, current_or_none
from .refusals import TEMPLATES

log = logging.getLogger("wikibot.otterwiki")

HIDDEN = frozenset(
    {"git_info_refs", "git_upload_pack", "git_receive_pack", "dotgit", "pull_webhook", "security_check"}
)
SIGN_IN = frozenset(
    {"login", "register", "lost_password", "confirm_email", "recover_password", "request_confirmation_link"}
)
MANAGED = frozenset(
    {
        "admin_user_management",
        "admin_permissions_and_registration",
        "admin_repository_management",
        "admin_mail_preferences",
        "user",
    }
)
EDITING = frozenset(
    {
        "edit",
        "save",
        "create",
        "rename",
        "delete",
        "inline_attachment",
        "edit_attachment",
        "revert",
        "draft",
        "discard_draft",
        "preview",
    }
)
REPO_WRITERS = frozenset(
    {
        "save",
        "rename",
        "delete",
        "attachments",
        "inline_attachment",
        "edit_attachment",
        "revert",
        "housekeeping",
    }
)


class ChangeRecorder:
    @hookimpl  # type: ignore[untyped-decorator]
    def repository_changed(self, changed_files: list[str]) -> None:
        wiki = current_or_none()
        if wiki is not None:
            wiki.changed.update(str(f) for f in changed_files)


def install(app: Flask) -> None:
    assert app.jinja_loader is not None
    app.jinja_env.loader = ChoiceLoader([app.jinja_env.loader, FileSystemLoader(TEMPLATES)])  # type: ignore[list-item]
    plugin_manager.register(ChangeRecorder(), name="wikibot-changes")
    app.before_request(policy)
    app.teardown_request(finish)
    app.register_error_handler(WikibotError, wikibot_error)
    app.register_error_handler(RequestEntityTooLarge, too_large)
    app.register_error_handler(HTTPForbidden, not_allowed)
    login_manager.unauthorized_handler(_sign_in_here)  # @login_required pages, for anonymous visitors


# -- before the view --------------------------------------------------------------------------------------
def _is_editing(endpoint: str) -> bool:
    if endpoint in EDITING:
        return True
    if endpoint in ("attachments", "housekeeping"):
        return request.method == "POST"
    return endpoint == "view" and "edit" in request.values


def policy() -> ResponseReturnValue | None:
    wiki = current()
    endpoint = request.endpoint or ""
    if endpoint in HIDDEN:
        abort(404)
    if endpoint in SIGN_IN:
        return _sign_in(wiki)
    if endpoint == "logout":
        response = redirect(wiki.services.dashboard_url)
        response.headers.add("Set-Cookie", session.clear_session_cookie(wiki.services))
        return response
    if endpoint == "settings" or endpoint in MANAGED:
        if wiki.principal.is_anonymous:
            return _sign_in_here()
        if endpoint == "settings":
            return _account(wiki)
        if not wiki.access.can(Action.MANAGE):
            abort(403)
        return _managed(wiki, endpoint)
    if wiki.may_write and _is_editing(endpoint) and (refusal := lapsed_refusal(wiki.access)) is not None:
        raise refusal
    if endpoint == "rename" and request.method == "POST" and wiki.may_write:
        # Otterwiki turns a refusal from the storage into a bare "Renaming failed" toast: say why first. (The
        # storage guard decides; this only words it. The source page was checked with the URL, in middleware.)
        target = (request.form.get("new_pagename") or "").strip().strip("/")
        if target:
            wiki.write_area.check([f"{target}.md"])
    if endpoint in REPO_WRITERS and request.method == "POST" and wiki.may_write:
        wiki.hold_lock()
    if endpoint == "admin" and request.method == "POST":
        name = (request.form.get("site_name") or "").strip()
        if name and name != wiki.access.display_name:
            toast("The wiki's name is set in Wikibot (Wiki settings); it was left unchanged here.", "warning")
    return None


def _sign_in(wiki: WikiRequest) -> ResponseReturnValue:
    """Otterwiki's login page: back to ``next`` if signed in, else the platform's sign-in, returning there."""
    target = urlsplit(request.args.get("next") or "/")
    path = safe_path(target.path)
    if not wiki.principal.is_anonymous:
        return redirect(path + (f"?{target.query}" if target.query and path != "/" else ""))
    return redirect(wiki.services.sign_in_url(wiki.services.wiki_url(wiki.slug, path, target.query)))


def _sign_in_here() -> ResponseReturnValue:
    """The platform's sign-in, returning to this very page."""
    wiki = current()
    here = wiki.services.wiki_url(wiki.slug, request.path, request.query_string.decode("latin-1"))
    return redirect(wiki.services.sign_in_url(here))


def _links(wiki: WikiRequest) -> dict[str, Any]:
    services = wiki.services
    return {
        "who": wiki.principal.handle or wiki.principal.did,
        "did": wiki.principal.did,
        "role": wiki.role_name,
        "is_owner": wiki.access.can(Action.MANAGE),
        "dashboard_url": services.dashboard_url,
        "wiki_settings_url": services.wiki_settings_url(wiki.slug),
        "collaborators_url": services.collaborators_url(wiki.slug),
    }


def _account(wiki: WikiRequest) -> ResponseReturnValue:
    return render_template("wikibot/account.html", title="Account", wikibot=_links(wiki))


def _managed(wiki: WikiRequest, endpoint: str) -> ResponseReturnValue:
    services = wiki.services
    people = [
        ("Collaborators", services.collaborators_url(wiki.slug)),
        ("Wiki settings", services.wiki_settings_url(wiki.slug)),
    ]
    if endpoint == "admin_repository_management":
        heading = "Git access"
        message = [
            f"Clone and push this wiki with git at {services.settings.wiki_url(wiki.slug)}/repo.git, "
            "using a personal access token from Wikibot as the password.",
            "Pushing to or pulling from other servers is not available on Wikibot.",
        ]
        links = [("Tokens and wiki settings", services.wiki_settings_url(wiki.slug))]
    elif endpoint == "admin_mail_preferences":
        heading = "Mail"
        message = ["Wikis on Wikibot do not send mail; there is nothing to set up here."]
        links = [("Wiki settings", services.wiki_settings_url(wiki.slug))]
    else:
        heading = "People and permissions"
        message = [
            "Who can read and edit this wiki is managed in Wikibot: invite collaborators as owner, editor or "
            "viewer, and choose whether the wiki is public.",
            "People sign in with their Bluesky (ATProto) identity; there are no separate wiki accounts.",
        ]
        links = people
    return render_template(
        "wikibot/managed.html", title=heading, heading=heading, message=message, links=links
    )


# -- after the view ---------------------------------------------------------------------------------------
def finish(exc: BaseException | None) -> None:
    wiki = current_or_none()
    if wiki is None:
        return
    try:
        if wiki.changed:
            storage = wiki.state.storage
            head = storage.repo.head.commit.hexsha
            usage = repo_usage(Path(storage.path))
            wiki.services.record_write(wiki.slug, usage, head, sorted(wiki.changed))
            wiki.changed.clear()
    except Exception:
        log.exception("could not finish the write", extra={"wiki": wiki.slug})
    finally:
        wiki.release_lock()


# -- error pages ------------------------------------------------------------------------------------------
def _problem(status: int, heading: str, message: list[str], severity: str = "danger") -> ResponseReturnValue:
    wiki = current()
    links = [("Back to the wiki", "/")]
    if wiki.access.can(Action.MANAGE):
        links.insert(0, ("Wiki settings", wiki.services.wiki_settings_url(wiki.slug)))
    html = render_template(
        "wikibot/problem.html",
        title=heading,
        heading=heading,
        message=message,
        links=links,
        severity=severity,
    )
    return html, status, {"Cache-Control": "no-store"}


def wikibot_error(exc: WikibotError) -> ResponseReturnValue:
    if isinstance(exc, ReadOnly):
        wiki = current()
        extra = (
            ["Its owner can restore it in Wikibot."]
            if not wiki.access.can(Action.MANAGE)
            else ["Restore the subscription in the wiki's settings to edit again."]
        )
        return _problem(exc.status, "This wiki is read-only", [exc.message, *extra], "secondary")
    if isinstance(exc, LimitExceeded):
        return _problem(
            exc.status,
            "This change does not fit the wiki's plan",
            [exc.message, "Nothing was saved."],
            "danger",
        )
    if isinstance(exc, LockTimeout):
        return _problem(exc.status, "The wiki is busy", [exc.message], "secondary")
    if exc.code == "outside_write_paths":
        return _problem(exc.status, "Outside the folders you may change", [exc.message, "Nothing was saved."])
    if exc.status >= 500:
        log.error("refused: %s", exc.message, extra={"code": exc.code})
    return _problem(exc.status, "This cannot be done", [exc.message])


def too_large(exc: RequestEntityTooLarge) -> ResponseReturnValue:
    wiki = current()
    limit = wiki.tier.attachment_bytes // (1024 * 1024)
    return _problem(
        413,
        "This upload is too large",
        [f"The {wiki.tier.name} plan allows files of up to {limit} MB on this wiki.", "Nothing was saved."],
    )


def not_allowed(exc: HTTPForbidden) -> ResponseReturnValue:
    wiki = current()
    if wiki.principal.is_anonymous:
        return _sign_in_here()
    if wiki.outside_page is not None and wiki.access.writable:
        # Otterwiki refused because the page is outside the visitor's folders (no WRITE on this request)
        try:
            wiki.write_area.check([wiki.outside_page])
        except WikibotError as refusal:
            return _problem(403, "Outside the folders you may change", [refusal.message], "secondary")
    reason = exc.description if exc.description and "permission" not in exc.description.lower() else None
    message = [f"Your role on this wiki is {wiki.role_name}, which does not allow this."]
    if reason:
        message.append(reason)
    return _problem(403, "Not allowed", message, "secondary")
