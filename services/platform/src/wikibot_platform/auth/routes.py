"""Sign-in pages and endpoints: ``/auth/login``, ``/auth/callback``, ``/auth/complete``, ``/auth/username``,
``/auth/logout``, the one-time link ``/auth/link``, and the client's public documents
``/auth/client-metadata.json`` and ``/auth/jwks.json``.

Pages answer failures with the page and a precise status (no JSON for a person in a browser); the logic lives
in ``flow.SignIn`` and ``loginlink``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from wikibot_shared.errors import AuthError, Forbidden, WikibotError
from wikibot_shared.models import User
from wikibot_shared.tenant import tenant_from_host
from wikibot_shared.verify import Principal

from .. import limits
from ..accounts import set_username, suggest_username
from ..config import PlatformSettings
from ..deps import DbDep, RedisDep, SettingsDep, optional_user
from ..templating import render
from . import loginlink, returnto
from .flow import Landed, SignIn
from .sessions import clear_session_cookie, renew_token, set_session_cookie, start_session

router = APIRouter(prefix="/auth", tags=["sign-in"])

FLOW_COOKIE = "wikibot_signin"  # binds a started sign-in to this browser (flow.py)
NO_STORE = {"Cache-Control": "no-store"}


def signin_for(app: Any) -> SignIn:
    state = app.state
    if getattr(state, "signin", None) is None:
        state.signin = SignIn(state.settings, state.db, state.redis, state.keystore)
    result: SignIn = state.signin
    return result


def signin(request: Request) -> SignIn:
    return signin_for(request.app)


def handle_resolver_for(app: Any) -> Callable[[str], str | None]:
    """``handle -> DID or None`` (verified both ways) for finding collaborators (``services/identity.py``)."""

    def resolve(handle: str) -> str | None:
        return signin_for(app).resolver.verified_did(handle)

    return resolve


async def current_user(request: Request) -> Principal | None:
    """The signed-in user, or None — also when the cookie is stale or broken (a sign-in page never 401s).
    Unsafe requests still get the CSRF check (``deps.optional_user``)."""
    try:
        return await optional_user(request)
    except AuthError:
        return None


SignInDep = Annotated[SignIn, Depends(signin)]
CurrentUser = Annotated[Principal | None, Depends(current_user)]
ReturnTo = Annotated[str | None, Query(max_length=2048)]


def _settings(request: Request) -> PlatformSettings:
    settings: PlatformSettings = request.app.state.settings
    return settings


def _redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303, headers=NO_STORE)


def _problem(request: Request, exc: WikibotError, *, title: str = "Sign-in failed") -> HTMLResponse:
    context = {"title": title, "message": exc.message, "code": exc.code}
    return render(request, "auth/error.html", context, status_code=exc.status)


def _land(request: Request, landed: Landed) -> RedirectResponse:
    """Set the session cookie; then the username page (first sign-in) or where the person was going."""
    settings = _settings(request)
    if landed.needs_username:
        url = f"{settings.platform_url}/auth/username?{urlencode({'return_to': landed.return_to})}"
    else:
        url = returnto.landing_url(settings, request.app.state.redis, landed.token, landed.return_to)
    response = _redirect(url)
    set_session_cookie(response, settings, landed.token)
    response.delete_cookie(FLOW_COOKIE, path="/auth", secure=settings.cookie_secure, httponly=True)
    return response


def _is_platform_host(request: Request) -> bool:
    try:
        return tenant_from_host(request.headers.get("host"), _settings(request).domain).is_platform
    except WikibotError:  # not a host of ours (in loopback mode: 127.0.0.1)
        return False


# -- sign in -----------------------------------------------------------------------------------------------------


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, user: CurrentUser, return_to: ReturnTo = None) -> Response:
    """The sign-in form; a signed-in visitor goes straight on to ``return_to`` (wiki hosts: session handoff)."""
    settings = _settings(request)
    if user is not None and user.credential_id:
        with request.app.state.db() as db:
            row = db.get(User, user.did)
        if row is not None and not row.username:  # signed in, but never chose a username
            query = urlencode({"return_to": return_to or ""})
            return _redirect(f"{settings.platform_url}/auth/username?{query}")
        token = renew_token(settings, request.app.state.keystore, str(user.did), user.credential_id)
        return _redirect(returnto.landing_url(settings, request.app.state.redis, token, return_to))
    request.state.user = None
    context = {"return_to": return_to or "", "identifier": ""}
    return render(request, "auth/login.html", context, status_code=200)


@router.post("/login", response_class=HTMLResponse)
def login_start(
    request: Request,
    flow: SignInDep,
    identifier: Annotated[str, Form(max_length=2048)] = "",
    return_to: Annotated[str | None, Form(max_length=2048)] = None,
) -> Response:
    """Resolve the identity, push the authorization request, and send the browser to the user's server."""
    settings = _settings(request)
    limits.sign_in(request)
    target = return_to or ""  # checked where the browser lands (returnto.landing_url)
    try:
        begun = flow.begin(identifier, target)
    except WikibotError as exc:
        context = {"return_to": target, "identifier": identifier, "error": exc.message, "code": exc.code}
        return render(request, "auth/login.html", context, status_code=exc.status)
    response = _redirect(begun.authorize_url)
    response.set_cookie(
        FLOW_COOKIE,
        begun.binding,
        max_age=settings.login_ttl,
        path="/auth",
        secure=settings.cookie_secure,
        httponly=True,
        samesite="lax",
    )
    return response


@router.get("/callback", response_class=HTMLResponse)
def callback(request: Request, flow: SignInDep) -> Response:
    """The authorization server's redirect (``state``, ``iss``, ``code`` or ``error``)."""
    limits.callback(request)
    params = {k: v for k, v in request.query_params.items() if len(v) <= 4096}
    on_platform = _is_platform_host(request)
    if not on_platform and not flow.config.loopback:
        return _problem(request, Forbidden("sign-in callbacks are accepted on the platform's own address"))
    try:
        # On the platform host the browser must present the cookie set by /auth/login ("" never matches);
        # on 127.0.0.1 (loopback mode) it cannot, so /auth/complete checks it back on the platform host.
        binding = request.cookies.get(FLOW_COOKIE, "") if on_platform else None
        landed = flow.callback(params, binding)
    except WikibotError as exc:
        return _problem(request, exc)
    if on_platform:
        return _land(request, landed)
    # Loopback: this ran on 127.0.0.1, whose cookies are not the platform's. Continue on the platform host.
    code = flow.park(landed)
    return _redirect(f"{_settings(request).platform_url}/auth/complete?{urlencode({'code': code})}")


@router.get("/complete", response_class=HTMLResponse)
def complete(request: Request, flow: SignInDep, code: Annotated[str, Query(max_length=200)] = "") -> Response:
    limits.callback(request)
    try:
        landed = flow.complete(code, request.cookies.get(FLOW_COOKIE))
    except WikibotError as exc:
        return _problem(request, exc)
    return _land(request, landed)


@router.get(loginlink.PATH.removeprefix(router.prefix), include_in_schema=False)
def sign_in_with_link(
    request: Request,
    db: DbDep,
    settings: SettingsDep,
    client: RedisDep,
    token: Annotated[str, Query(max_length=200)] = "",
    return_to: Annotated[str | None, Query(max_length=4096)] = None,
) -> RedirectResponse:
    """The one-time link ``wikibot-admin login-link`` prints: a session (``method="link"``), then where sign-in
    lands. Failures are the error page (``errors.HTML_PREFIXES``)."""
    limits.sign_in(request)
    did = loginlink.redeem(client, token)
    user = db.get(User, did)
    if user is None:
        raise AuthError("the account this link was made for no longer exists", code="invalid_link")
    _sid, jwt = start_session(db, settings, request.app.state.keystore, did, method="link")
    user.last_login_at = datetime.now(UTC)
    db.commit()
    response = _redirect(returnto.landing_url(settings, client, jwt, return_to))
    set_session_cookie(response, settings, jwt)
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


# -- first sign-in: choose a username ------------------------------------------------------------------------------


@router.get("/username", response_class=HTMLResponse)
def username_page(request: Request, user: CurrentUser, return_to: ReturnTo = None) -> Response:
    settings = _settings(request)
    if user is None:
        return _redirect(settings.sign_in_url(return_to or ""))
    with request.app.state.db() as db:
        row = db.get(User, user.did)
        if row is not None and row.username:
            token = renew_token(settings, request.app.state.keystore, str(user.did), str(user.credential_id))
            return _redirect(returnto.landing_url(settings, request.app.state.redis, token, return_to))
        suggestion = suggest_username(db, user.handle)
    return render(request, "auth/username.html", {"return_to": return_to or "", "username": suggestion})


@router.post("/username", response_class=HTMLResponse)
def username_choose(
    request: Request,
    user: CurrentUser,
    username: Annotated[str, Form(max_length=100)] = "",
    return_to: Annotated[str | None, Form(max_length=2048)] = None,
) -> Response:
    """Needs the form's ``csrf_token`` (checked by the dependency, like every cookie-authenticated form)."""
    settings = _settings(request)
    if user is None or not user.credential_id:
        return _problem(request, AuthError("sign in first", code="unauthenticated"), title="Not signed in")
    try:
        with request.app.state.db() as db:
            set_username(db, str(user.did), username)
            db.commit()
    except WikibotError as exc:
        context = {"return_to": return_to or "", "username": username, "error": exc.message, "code": exc.code}
        return render(request, "auth/username.html", context, status_code=exc.status)
    token = renew_token(settings, request.app.state.keystore, str(user.did), user.credential_id)
    return _redirect(returnto.landing_url(settings, request.app.state.redis, token, return_to))


# -- sign out --------------------------------------------------------------------------------------------------------


@router.post("/logout")
def logout(request: Request, flow: SignInDep, user: CurrentUser) -> Response:
    """Ends the session everywhere (every copy of the cookie, wiki hosts included) and revokes the ATProto
    tokens at the user's authorization server. Needs the form's ``csrf_token`` (checked by the dependency)."""
    settings = _settings(request)
    if user is not None and user.credential_id:
        flow.logout(user.credential_id)
    response = _redirect(f"{settings.platform_url}/")
    clear_session_cookie(response, settings)
    return response


# -- the client's public documents ------------------------------------------------------------------------------------


@router.get("/client-metadata.json")
def client_metadata(flow: SignInDep) -> JSONResponse:
    """The ATProto OAuth client metadata document; its URL is our ``client_id``."""
    if flow.config.loopback:
        message = (
            f"on a localhost DOMAIN this platform is a loopback client: client_id {flow.config.client_id}"
        )
        return JSONResponse({"error": "not_found", "message": message}, status_code=404)
    return JSONResponse(flow.config.metadata(), headers={"Cache-Control": "public, max-age=300"})


@router.get("/jwks.json")
def client_jwks(request: Request) -> JSONResponse:
    """Public keys of the client key (``private_key_jwt``); retired keys stay until their assertions are moot."""
    return JSONResponse(
        request.app.state.keystore.jwks("client"), headers={"Cache-Control": "public, max-age=300"}
    )
