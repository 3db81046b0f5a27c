"""The authorization server's HTTP surface (thin: parse, call ``OAuthServer`` in a worker thread, render).

    GET  /.well-known/oauth-authorization-server   RFC 8414 metadata
    POST /auth/oauth/register                      RFC 7591 dynamic client registration
    GET  /auth/oauth/authorize                     RFC 6749 §4.1.1: sign-in redirect, consent page or refusal
    POST /auth/oauth/authorize                     the consent form's answer (CSRF: single-use session-bound ticket)
    POST /auth/oauth/token                         RFC 6749 §4.1.3 and §6
    POST /auth/oauth/revoke                        RFC 7009

Errors are JSON (``error``, ``error_description``, ``message``); a browser on the authorization endpoint gets
the same error as a page.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from wikibot_shared import pathrules
from wikibot_shared.acl import SCOPE_WRITE
from wikibot_shared.db import transaction
from wikibot_shared.errors import AuthError, InputError
from wikibot_shared.verify import Principal

from .. import limits
from ..deps import optional_user
from ..templating import render
from . import consent as pages
from .errors import (
    InvalidRequestError,
    OAuth2Error,
    OAuthResponse,
    RegistrationTooLarge,
    ascii_text,
    error_body,
)
from .rfc7591 import MAX_REGISTRATION_BYTES
from .rfc8414 import AUTHORIZE_PATH, REGISTER_PATH, REVOKE_PATH, TOKEN_PATH, WELL_KNOWN_PATH
from .scopes import WIKI_SCOPES
from .server import BodyRequest, FormRequest, OAuthServer
from .state import Ticket

router = APIRouter(tags=["oauth"])

MAX_FORM_BYTES = 16 * 1024
FORM_TYPE = "application/x-www-form-urlencoded"
CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
    "Access-Control-Allow-Headers": "Authorization, Content-Type, MCP-Protocol-Version",
    "Access-Control-Max-Age": "600",
}


def _server(request: Request) -> OAuthServer:
    server: OAuthServer = request.app.state.oauth
    return server


async def _read_capped(request: Request, limit: int) -> bytes | None:
    """The body, or None once it passes ``limit`` bytes (streamed: a lying Content-Length does not help)."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    body = b"".join(chunks)
    request._body = (
        body  # Starlette's body cache: later form() / body() calls read this, not the spent stream
    )
    return body


def _oauth_request(request: Request, path: str, params: list[tuple[str, str]], method: str) -> FormRequest:
    settings = request.app.state.settings
    return FormRequest(method, settings.issuer + path, request.headers, params)  # type: ignore[arg-type]


def _json(response: OAuthResponse, cors: bool = False) -> Response:
    headers = dict(response.headers)
    headers.pop("Content-Type", None)
    if cors:
        headers.update(CORS)
    return JSONResponse(response.body, status_code=response.status, headers=headers)


def error_response(error: OAuth2Error, cors: bool = False) -> Response:
    status, _body, headers = error()
    return _json(OAuthResponse(status, error_body(error), headers), cors)


def _wants_html(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "")


def _page_or_json(request: Request, response: OAuthResponse) -> Response:
    """An authorization-endpoint answer: a redirect to the client, or an error shown here."""
    if response.is_redirect:
        assert response.location
        return RedirectResponse(response.location, status_code=302)
    if _wants_html(request):
        return render(request, "oauth/error.html", {"error": response.body}, status_code=response.status)
    return _json(response)


def _refuse(request: Request, status: int, error: str, message: str, **context: Any) -> Response:
    body = {"error": error, "error_description": ascii_text(message), "message": message}
    if _wants_html(request):
        return render(request, "oauth/error.html", {"error": body, **context}, status_code=status)
    return JSONResponse(body, status_code=status)


async def _signed_in(request: Request) -> Principal | None:
    """The signed-in user, through the platform's dependency (which also checks CSRF on a POST)."""
    try:
        return await optional_user(request)
    except AuthError:
        return None  # an ended or malformed session is the same as none here: sign in again


# -- RFC 8414 -------------------------------------------------------------------------------------------------


@router.get(WELL_KNOWN_PATH)
def metadata(request: Request) -> JSONResponse:
    """RFC 8414 §3: authorization server metadata."""
    headers = {**CORS, "Cache-Control": "public, max-age=3600"}
    return JSONResponse(_server(request).metadata, headers=headers)


@router.options(WELL_KNOWN_PATH, include_in_schema=False)
@router.options(REGISTER_PATH, include_in_schema=False)
@router.options(TOKEN_PATH, include_in_schema=False)
@router.options(REVOKE_PATH, include_in_schema=False)
def preflight() -> Response:
    return Response(status_code=204, headers=CORS)


# -- RFC 7591 -------------------------------------------------------------------------------------------------


@router.post(REGISTER_PATH, status_code=201)
async def register(request: Request) -> Response:
    """RFC 7591 §3.1: register a client (no authentication; rate-limited per address)."""
    server = _server(request)
    settings = request.app.state.settings
    await run_in_threadpool(limits.enforce, request, "oauth_register", limits.client_address(request))
    body = await _read_capped(request, MAX_REGISTRATION_BYTES)
    if body is None:
        return error_response(
            RegistrationTooLarge(f"a registration is at most {MAX_REGISTRATION_BYTES} bytes"), True
        )
    if not request.headers.get("content-type", "").lower().startswith("application/json"):
        return error_response(
            InvalidRequestError("send the client metadata as application/json"), True
        )  # RFC 7591 §3.1
    try:
        data = json.loads(body)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        return error_response(InvalidRequestError("the body must be a JSON object of client metadata"), True)
    oreq = BodyRequest("POST", settings.issuer + REGISTER_PATH, request.headers, data)  # type: ignore[arg-type]
    response = await run_in_threadpool(server.create_endpoint_response, "client_registration", oreq)
    return _json(response, cors=True)


# -- RFC 6749 §4.1: the authorization endpoint ------------------------------------------------------------------


@router.get(AUTHORIZE_PATH)
async def authorize(request: Request) -> Response:
    server = _server(request)
    settings = request.app.state.settings
    params = parse_qsl(request.url.query, keep_blank_values=True)
    oreq = _oauth_request(request, AUTHORIZE_PATH, params, "GET")
    try:
        grant = await run_in_threadpool(server.get_consent_grant, oreq, None)
    except OAuth2Error as error:
        return _page_or_json(request, server.error_response(error))
    user = await _signed_in(request)
    if user is None:
        back = settings.issuer + AUTHORIZE_PATH + "?" + request.url.query
        return RedirectResponse(settings.sign_in_url(back), 302)
    return await run_in_threadpool(_consent_page, request, server, oreq, grant, user, params)


def _consent_page(
    request: Request, server: OAuthServer, oreq: FormRequest, grant: Any, user: Principal, params: list[Any]
) -> Response:
    assert user.did
    assert user.credential_id
    requested = oreq.client.requested_scopes(oreq.scope)
    with server.db() as db:
        if oreq.resource_wiki:
            choice = pages.choice_for(db, oreq.resource_wiki, user.did, requested)
            options = [choice] if choice else []
        else:
            options = pages.choices(db, user.did, requested)
    ticket = server.tickets.issue(Ticket(user.credential_id, user.did, params))
    context = {
        "client": oreq.client,
        "client_label": pages.client_label(oreq.client),
        "redirect_host": pages.redirect_host(grant.redirect_uri),
        "ticket": ticket,
        "requested": pages.scope_lines(requested),
        "options": options,
        "fixed_wiki": oreq.resource_wiki,
        "lines": pages.scope_lines,
        "action": server.settings.issuer + AUTHORIZE_PATH,
    }
    if not options:
        if oreq.resource_wiki:
            message = (
                f"Your account has no access to the wiki '{oreq.resource_wiki}', so you cannot connect it."
            )
        else:
            message = (
                "You have no wiki that this app could connect to. Create one, or ask to be added to one."
            )
        return render(request, "oauth/refusal.html", {**context, "message": message}, status_code=403)
    return render(request, "oauth/consent.html", context)


@router.post(AUTHORIZE_PATH)
async def answer(request: Request) -> Response:
    """The consent form's answer: allow (with the wiki and scopes chosen) or deny."""
    server = _server(request)
    settings = request.app.state.settings
    body = await _read_capped(request, MAX_FORM_BYTES)
    if body is None:
        return _refuse(request, 413, "invalid_request", "the form is too large")
    form = parse_qsl(body.decode("latin-1"), keep_blank_values=True)
    fields = {k: v for k, v in form}
    origin = request.headers.get("origin")
    if origin and origin != settings.platform_url:
        return _refuse(request, 403, "invalid_request", "the consent form must be sent from this site")
    user = await _signed_in(request)  # raises 403 csrf_failed for a forged form (csrf.verify)
    if user is None:
        return _refuse(request, 401, "login_required", "your session has ended; start again from the app")
    await run_in_threadpool(limits.consent, request, user.did or "")
    ticket = await run_in_threadpool(server.tickets.take, fields.get("ticket", ""))
    if ticket is None or ticket.session_id != user.credential_id or ticket.did != user.did:
        return _refuse(
            request,
            403,
            "invalid_request",
            "this consent form has expired or was not issued to you; start again",
        )
    return await run_in_threadpool(_decide, request, server, ticket, user, fields, form)


def _decide(
    request: Request,
    server: OAuthServer,
    ticket: Ticket,
    user: Principal,
    fields: dict[str, str],
    form: list[tuple[str, str]],
) -> Response:
    assert user.did
    oreq = _oauth_request(request, AUTHORIZE_PATH, ticket.params, "GET")
    try:
        grant = server.get_consent_grant(oreq, user)
    except OAuth2Error as error:
        return _page_or_json(request, server.error_response(error))
    if fields.get("decision") != "allow":
        return _page_or_json(
            request, server.create_authorization_response(oreq, None, grant)
        )  # access_denied
    wiki = oreq.resource_wiki or fields.get("wiki", "")
    if oreq.resource_wiki and fields.get("wiki", wiki) != wiki:
        return _refuse(request, 400, "invalid_request", f"this app asked for the wiki '{wiki}' only")
    requested = oreq.client.requested_scopes(oreq.scope)
    with server.db() as db:
        choice = pages.choice_for(db, wiki, user.did, requested) if wiki else None
    if choice is None:
        return _refuse(request, 403, "access_denied", f"you cannot connect the wiki '{wiki or '?'}'")
    chosen = [v for k, v in form if k == "scope"] if any(k == "scope" for k, _ in form) else choice.scopes
    beyond = [s for s in chosen if s not in choice.scopes]
    if beyond:
        role = choice.role or "not a collaborator"
        return _refuse(
            request,
            403,
            "access_denied",
            f"your role on '{wiki}' ({role}) does not let you grant {' '.join(beyond)}",
        )
    if not any(s in WIKI_SCOPES for s in chosen):
        return _refuse(request, 400, "invalid_scope", "grant at least read access, or deny")
    try:
        paths = pathrules.parse_text(fields.get("paths"))
    except InputError as exc:
        return _refuse(request, 400, exc.code, f"folders it may write: {exc.message}")
    oreq.wiki = wiki
    oreq.granted_scope = " ".join(s for s in choice.scopes if s in chosen)
    oreq.write_paths = paths if SCOPE_WRITE in oreq.granted_scope.split() else None
    return _page_or_json(request, server.create_authorization_response(oreq, user, grant))


# -- RFC 6749 §3.2: the token endpoint; RFC 7009 ---------------------------------------------------------------


async def _form_endpoint(
    request: Request,
    path: str,
    call: Callable[[OAuthServer, FormRequest], Any],
    limit: str | None = None,
) -> Response:
    server = _server(request)
    body = await _read_capped(request, MAX_FORM_BYTES)
    if body is None:
        return error_response(InvalidRequestError("the request body is too large"), True)
    if not request.headers.get("content-type", "").lower().startswith(FORM_TYPE):
        return error_response(
            InvalidRequestError(f"send the parameters as {FORM_TYPE}"), True
        )  # RFC 6749 §3.2
    params = parse_qsl(body.decode("latin-1"), keep_blank_values=True)
    names = [k for k, _ in params if k != "resource"]  # RFC 8707 §2 allows several resources
    if len(names) != len(set(names)):
        return error_response(
            InvalidRequestError("a parameter was sent more than once"), True
        )  # RFC 6749 §3.2
    if limit:
        # per address and client: the users of a hosted agent (one address, a client each) do not share one
        key = f"{limits.client_address(request)}|{dict(params).get('client_id', '')[:200]}"
        await run_in_threadpool(limits.enforce, request, limit, key)
    oreq = _oauth_request(request, path, params, "POST")

    def run() -> OAuthResponse:
        with transaction(server.db) as db:
            oreq.db = db
            result: OAuthResponse = call(server, oreq)
            return result

    return _json(_client_unknown_is_401(await run_in_threadpool(run)), cors=True)


def _client_unknown_is_401(response: OAuthResponse) -> OAuthResponse:
    """RFC 6749 §5.2: ``invalid_client`` may be a 401 naming the schemes supported; it is one here whatever the
    client sent, because MCP clients (Claude.ai) take a 401 ``invalid_client`` as "register again" — what a
    client whose registration is gone must do."""
    body = response.body
    if response.status == 400 and isinstance(body, dict) and body.get("error") == "invalid_client":
        response.status = 401
        response.headers = [*response.headers, ("WWW-Authenticate", 'Basic realm="wikibot"')]
    return response


@router.post(TOKEN_PATH)
async def token(request: Request) -> Response:
    """RFC 6749 §4.1.3 (authorization_code) and §6 (refresh_token)."""
    return await _form_endpoint(
        request, TOKEN_PATH, lambda server, oreq: server.create_token_response(oreq), limit="oauth_token"
    )


@router.post(REVOKE_PATH)
async def revoke(request: Request) -> Response:
    """RFC 7009 §2: revoke an access or refresh token (and with it, its grant)."""
    return await _form_endpoint(
        request, REVOKE_PATH, lambda server, oreq: server.create_endpoint_response("revocation", oreq)
    )
