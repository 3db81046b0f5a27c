"""``/auth/link?token=…``: the one-time sign-in link ``wikibot-admin login-link`` prints.

It starts a session (``method="link"``) and lands where sign-in lands: ``return_to`` on our hosts (wiki hosts
through a handoff code), else the dashboard.
"""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse

from wikibot_shared.errors import AuthError
from wikibot_shared.models import User

from . import limits, loginlink, returnto
from .deps import DbDep, RedisDep, SettingsDep
from .sessions import set_session_cookie, start_session

router = APIRouter(include_in_schema=False)


@router.get(loginlink.PATH)
def sign_in_with_link(
    request: Request,
    db: DbDep,
    settings: SettingsDep,
    client: RedisDep,
    token: str = Query("", max_length=200),
    return_to: str | None = Query(None, max_length=4096),
) -> RedirectResponse:
    limits.sign_in(request)
    did = loginlink.redeem(client, token)
    user = db.get(User, did)
    if user is None:
        raise AuthError("the account this link was made for no longer exists", code="invalid_link")
    _sid, jwt = start_session(db, settings, request.app.state.keystore, did, method="link")
    user.last_login_at = datetime.now(UTC)
    db.commit()
    response = RedirectResponse(returnto.landing_url(settings, client, jwt, return_to), status_code=303)
    set_session_cookie(response, settings, jwt)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response
