"""The tenant middleware: one WSGI call per request, in front of the one Otterwiki app of the process.

Per request: the wiki from ``Host`` → the visitor from the session cookie (``Verifier.authenticate``; a cookie
that does not verify counts as no cookie and is cleared) → the live role (``acl.wiki_access``, one query) →
refuse (unknown wiki 404, private wiki and no visitor → sign-in, no role → 403) or strip the client's
``x-otterwiki-*`` headers, set ours from the role (and the path rules: no editing offered on a page outside the
visitor's folders), bind the wiki's state (``context``) and call Otterwiki.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from flask import Flask
from werkzeug.http import parse_cookie
from werkzeug.wsgi import ClosingIterator

from wikibot_shared.acl import Action, WikiAccess, wiki_access
from wikibot_shared.errors import AuthError, NotFound
from wikibot_shared.tenant import tenant_from_host
from wikibot_shared.tiers import MB, tier_for
from wikibot_shared.tokens import SESSION_COOKIE
from wikibot_shared.verify import ANONYMOUS, Principal

from . import prefs, refusals, roles, session
from .context import WikiRequest, bind, unbind
from .edge import StartResponse
from .pagepaths import page_file_of
from .services import Services

log = logging.getLogger("wikibot.otterwiki")

MAX_SESSION_COOKIES = 3  # host-only and Domain cookies may both arrive; try each


class TenantMiddleware:
    def __init__(self, services: Services, app: Flask) -> None:
        self.services = services
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        services = self.services
        try:
            tenant = tenant_from_host(environ.get("HTTP_HOST"), services.settings.domain)
        except NotFound as exc:
            return self._no_such_wiki(environ, start_response, exc.message)
        if tenant.slug is None:
            raise NotFound("the platform is not served here", code="not_found")
        slug = tenant.slug
        if environ.get("PATH_INFO") == session.PATH:
            return session.redeem(services, environ, start_response, slug)

        removed = roles.strip_client_headers(environ)
        if removed:
            log.warning("removed client-sent identity headers", extra={"wiki": slug, "headers": removed})
        try:
            with services.verifier.decision() as db:  # one session: the cookie's session row, then the role
                principal, stale = self._visitor(environ)
                access = wiki_access(db, slug, principal.did)
        except NotFound:
            return self._no_such_wiki(environ, start_response, f"There is no wiki called “{slug}”.")
        extra: refusals.Headers = [("Set-Cookie", session.clear_session_cookie(services))] if stale else []

        if not access.can(Action.READ):
            if principal.is_anonymous:
                path = environ.get("PATH_INFO", "/").encode("latin-1").decode("utf-8", "replace")
                here = services.wiki_url(slug, path, environ.get("QUERY_STRING", ""))
                return refusals.redirect(start_response, services.sign_in_url(here), extra)
            return self._not_yours(environ, start_response, principal, extra)

        try:
            state = services.states.get(slug)
        except NotFound as exc:
            return refusals.respond(
                start_response,
                environ,
                503,
                code=exc.code,
                heading="This wiki is still being set up",
                message=["Its storage is not ready yet. Try again in a moment."],
            )
        tier = tier_for(services.tiers, access.tier)
        live = (access.display_name, access.is_public, tier.bytes_per_wiki + MB)
        if state.live != live:
            prefs.apply_live(
                state.config, state.prefs, site_name=live[0], is_public=live[1], max_upload=live[2]
            )
            state.live = live

        wiki = WikiRequest(
            slug=slug, access=access, principal=principal, tier=tier, state=state, services=services
        )
        page = page_file_of(environ.get("PATH_INFO", "/"))
        if page is not None and not wiki.write_area.contains(page):
            wiki.outside_page = page
        roles.set_identity(environ, principal, access, here_outside=wiki.outside_page is not None)
        environ["wsgi.url_scheme"] = services.settings.public_scheme
        token = bind(wiki)
        try:
            body = self.app(environ, _response_headers(start_response, access, extra))
        except BaseException:
            unbind(token)
            raise
        return ClosingIterator(body, [lambda: unbind(token)])

    # -- who is asking ------------------------------------------------------------------------------------
    def _visitor(self, environ: dict[str, Any]) -> tuple[Principal, bool]:
        """The signed-in person, or anonymous; ``True`` when a session cookie was sent but none verified."""
        candidates = parse_cookie(environ.get("HTTP_COOKIE", "")).getlist(SESSION_COOKIE)
        if not candidates:
            return ANONYMOUS, False
        for token in candidates[:MAX_SESSION_COOKIES]:
            try:
                _tenant, principal = self.services.verifier.authenticate(
                    environ.get("HTTP_HOST"), {}, {SESSION_COOKIE: token}
                )
            except AuthError:
                continue
            if principal.method == "session":
                return principal, False
        return ANONYMOUS, True

    # -- refusals -----------------------------------------------------------------------------------------
    def _no_such_wiki(
        self, environ: dict[str, Any], start_response: StartResponse, message: str
    ) -> Iterable[bytes]:
        return refusals.respond(
            start_response,
            environ,
            404,
            code="unknown_wiki",
            heading="No wiki here",
            message=[message, "Check the address, or create a wiki of your own."],
            links=[("Go to Wikibot", self.services.settings.platform_url)],
        )

    def _not_yours(
        self,
        environ: dict[str, Any],
        start_response: StartResponse,
        principal: Principal,
        extra: refusals.Headers,
    ) -> Iterable[bytes]:
        who = principal.handle or principal.did or "someone"
        return refusals.respond(
            start_response,
            environ,
            403,
            code="no_access",
            heading="This wiki is not yours",
            message=[
                f"You are signed in as {who}, and this wiki has not been shared with you.",
                "Only its owner can give you access.",
            ],
            links=[("Your wikis", self.services.dashboard_url)],
            headers=extra,
        )


def _response_headers(
    start_response: StartResponse, access: WikiAccess, extra: refusals.Headers
) -> StartResponse:
    """Pages of a private wiki must never sit in a shared cache; they vary with the visitor's cookie."""

    def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        headers = [*headers, *extra]
        if not access.is_public:
            cache = [v for k, v in headers if k.lower() == "cache-control"]
            headers = [(k, v) for k, v in headers if k.lower() != "cache-control"]
            value = cache[0] if cache else ""
            if "private" not in value and "no-store" not in value:
                value = f"private, {value}" if value else "private"
            headers.append(("Cache-Control", value))
            headers.append(("Vary", "Cookie"))
        return start_response(status, headers, exc_info)

    return start
