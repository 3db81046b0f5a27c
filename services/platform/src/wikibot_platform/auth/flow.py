"""Sign-in with ATProto, start to finish, without the web framework.

    begin(typed, return_to)        resolve → authorization server → PAR; the pending request goes to Redis
    callback(params, binding)      take the pending request (once), check state/iss, exchange the code,
                                   check sub and scope, refresh the user's profile, start the platform session
    complete(code, binding)        loopback mode only: the callback ran on 127.0.0.1, the browser is now back
                                   on the platform host, which checks the binding and sets its cookie
    logout(sid)                    revoke the ATProto tokens at the authorization server, end the session

``binding`` is a random value in a short-lived cookie set by ``begin``: a callback is accepted only from the
browser that started the sign-in (no login CSRF), and only once (GETDEL).
"""

from __future__ import annotations

import contextlib
import hmac
import logging
import secrets
from dataclasses import asdict, dataclass
from typing import Any

import redis
from sqlalchemy.orm import Session, sessionmaker

from wikibot_shared.crypto import Box, DecryptionError
from wikibot_shared.keys import KeyStore
from wikibot_shared.models import UserSession
from wikibot_shared.safehttp import SafeHttp
from wikibot_shared.tokens import sha256_hex

from ..accounts import upsert_signed_in_user
from ..atproto import dpop
from ..atproto.client import ClientConfig, DpopSession, OAuthClient, Tokens
from ..atproto.discovery import AuthServer, authorization_server, authorization_server_of
from ..atproto.errors import AtprotoError, AuthServerError, CallbackError, IdentityError, TokenError
from ..atproto.identity import Identity, IdentityResolver, parse_identifier
from ..atproto.pending import OneTimeStore
from ..atproto.profile import fetch_profile
from ..config import PlatformSettings
from .sessions import end_session, renew_token, start_session

log = logging.getLogger("wikibot.platform.signin")

COMPLETION_TTL = 60


def _same(value: str | None, digest: str) -> bool:
    return value is not None and hmac.compare_digest(sha256_hex(value), digest)


@dataclass(frozen=True)
class Begun:
    authorize_url: str
    binding: str


@dataclass(frozen=True)
class Landed:
    sid: str
    did: str
    token: str  # the platform session JWT
    return_to: str
    needs_username: bool
    binding_hash: str


class SignIn:
    def __init__(
        self,
        settings: PlatformSettings,
        db: sessionmaker[Session],
        client: redis.Redis,
        keystore: KeyStore,
        http: SafeHttp | None = None,
    ) -> None:
        self.settings = settings
        self.db = db
        self.redis = client
        self.keystore = keystore
        self.http = http or SafeHttp(settings.outbound_policy())
        self.box = Box(keystore.secret())
        self.config = ClientConfig.for_settings(settings, client_name=settings.client_name)
        self.oauth = OAuthClient(self.config, self.http, lambda: keystore.current("client").key)
        self.resolver = IdentityResolver(
            self.http,
            plc_url=settings.plc_url,
            handle_resolution=settings.handle_resolution,
            handle_resolver_url=settings.handle_resolver_url,
            dns_nameservers=tuple(s.strip() for s in settings.dns_nameservers.split(",") if s.strip()),
            dns_port=settings.dns_port,
        )
        self.pending = OneTimeStore(
            client, self.box, prefix="wikibot:atproto:pending:", ttl=settings.login_ttl
        )
        self.completions = OneTimeStore(client, self.box, prefix="wikibot:atproto:done:", ttl=COMPLETION_TTL)

    # -- 1. start ------------------------------------------------------------------------------------------------
    def begin(self, typed: str, return_to: str) -> Begun:
        identifier = parse_identifier(typed, self.settings.default_handle_suffix)
        identity: Identity | None = None
        if identifier.kind == "url":
            issuer = self._issuer_for_server_url(identifier.value)
        else:
            identity = self.resolver.resolve(identifier)
            issuer = authorization_server_of(self.http, identity.pds_url)
        server = authorization_server(self.http, issuer, confidential=not self.config.loopback)
        state = secrets.token_urlsafe(32)
        pkce = dpop.Pkce.new()
        session = DpopSession(dpop.new_key())
        hint = (identity.handle or identity.did) if identity else None
        request_uri = self.oauth.push_authorization(server, session, state=state, pkce=pkce, login_hint=hint)
        binding = secrets.token_urlsafe(32)
        self.pending.put(
            state,
            {
                "server": asdict(server),
                "did": identity.did if identity else None,
                "handle": identity.handle if identity else None,
                "pds_url": identity.pds_url if identity else None,
                "verifier": pkce.verifier,
                "dpop_key": dpop.key_to_json(session.key),
                "as_nonce": session.as_nonce,
                "return_to": return_to,
                "binding": sha256_hex(binding),
            },
        )
        log.info("sign-in started", extra={"did": identity.did if identity else None, "issuer": issuer})
        return Begun(self.oauth.authorize_url(server, request_uri), binding)

    def _issuer_for_server_url(self, url: str) -> str:
        """A PDS URL names its authorization server; an entryway URL is its own authorization server."""
        try:
            return authorization_server_of(self.http, url)
        except AuthServerError:
            return url

    # -- 2. the redirect back ----------------------------------------------------------------------------------
    def callback(self, params: dict[str, str], binding: str | None) -> Landed:
        """``binding`` is None when the callback runs on another host than the one that started (loopback mode):
        ``complete`` checks it there instead."""
        state = params.get("state") or ""
        pending = self.pending.take(state) if state else None  # single use: a replay finds nothing
        if pending is None:
            raise CallbackError("this sign-in has expired or was already completed; please sign in again")
        if binding is not None and not _same(binding, pending["binding"]):
            raise CallbackError("this sign-in was started in another browser; please sign in again here")
        server = AuthServer(**pending["server"])
        if params.get("iss") != server.issuer:  # RFC 9207 §2.4
            raise CallbackError("the sign-in response did not come from the server it was sent to")
        if params.get("error"):
            reason = params.get("error_description") or params["error"]
            raise CallbackError(f"the sign-in was not completed: {reason[:200]}", code="access_denied")
        code = params.get("code")
        if not code:
            raise CallbackError("the sign-in response carries no authorization code")
        session = DpopSession(dpop.key_from_json(pending["dpop_key"]), as_nonce=pending.get("as_nonce"))
        tokens = self.oauth.exchange_code(server, session, code=code, verifier=pending["verifier"])
        identity = self._identity_for(tokens, pending, server, session)
        profile = fetch_profile(self.http, identity.pds_url, identity.did)
        with self.db() as db:
            user = upsert_signed_in_user(
                db,
                did=identity.did,
                handle=identity.handle,
                display_name=profile.display_name,
                avatar_url=profile.avatar_url,
            )
            sid, token = start_session(
                db,
                self.settings,
                self.keystore,
                identity.did,
                method="atproto",
                authserver_iss=server.issuer,
                pds_url=identity.pds_url,
                scope=tokens.scope,
            )
            db.flush()
            self._store_tokens(db, sid, session, tokens)
            needs_username = user.username is None
            db.commit()
        log.info("signed in", extra={"did": identity.did, "sid": sid})
        return Landed(sid, identity.did, token, pending["return_to"], needs_username, pending["binding"])

    def _identity_for(
        self, tokens: Tokens, pending: dict[str, Any], server: AuthServer, session: DpopSession
    ) -> Identity:
        """The account the tokens are for, which must be the one we resolved (atproto.com/specs/oauth: ``sub``)."""
        try:
            if pending["did"] is not None:
                if tokens.sub != pending["did"]:
                    raise TokenError("the server signed in a different account than the one you asked for")
                return Identity(pending["did"], pending["handle"], pending["pds_url"])
            # Started from a server URL: the DID is new to us; its own PDS must use this authorization server.
            identity = self.resolver.identity_of(tokens.sub)
            if authorization_server_of(self.http, identity.pds_url) != server.issuer:
                raise TokenError("that account is not hosted behind this authorization server")
            return identity
        except (TokenError, IdentityError, AuthServerError):
            self._revoke_quietly(server, session, tokens)
            raise

    def _store_tokens(self, db: Session, sid: str, session: DpopSession, tokens: Tokens) -> None:
        row = db.get(UserSession, sid)
        assert row is not None
        row.dpop_private_jwk = self.box.seal(dpop.key_to_json(session.key), f"sessions.dpop:{sid}")
        row.access_token = self.box.seal(tokens.access_token, f"sessions.access:{sid}")
        if tokens.refresh_token:
            row.refresh_token = self.box.seal(tokens.refresh_token, f"sessions.refresh:{sid}")
        row.token_expires_at = tokens.expires_at
        row.dpop_authserver_nonce = session.as_nonce
        row.dpop_pds_nonce = session.pds_nonce

    # -- 2b. loopback: hand the result to the platform host ---------------------------------------------------
    def park(self, landed: Landed) -> str:
        code = secrets.token_urlsafe(32)
        self.completions.put(
            code,
            {
                "sid": landed.sid,
                "did": landed.did,
                "return_to": landed.return_to,
                "needs_username": landed.needs_username,
                "binding": landed.binding_hash,
            },
        )
        return code

    def complete(self, code: str, binding: str | None) -> Landed:
        parked = self.completions.take(code)
        if parked is None:
            raise CallbackError("this sign-in has expired or was already completed; please sign in again")
        if not _same(binding, parked["binding"]):
            with self.db() as db:  # not the browser that started it: the session must not survive
                end_session(db, parked["sid"])
                db.commit()
            raise CallbackError("this sign-in was started in another browser; please sign in again here")
        token = renew_token(self.settings, self.keystore, parked["did"], parked["sid"])
        return Landed(
            parked["sid"],
            parked["did"],
            token,
            parked["return_to"],
            parked["needs_username"],
            parked["binding"],
        )

    # -- 3. sign out -----------------------------------------------------------------------------------------------
    def logout(self, sid: str) -> bool:
        """End the session and revoke its ATProto tokens; returns whether the server confirmed the revocation."""
        with self.db() as db:
            row = db.get(UserSession, sid)
            if row is None:
                return False
            revoked = self._revoke_session_tokens(row)
            end_session(db, sid)
            row.access_token = row.refresh_token = row.dpop_private_jwk = None
            db.commit()
        log.info("signed out", extra={"sid": sid, "atproto_revoked": revoked})
        return revoked

    def _revoke_session_tokens(self, row: UserSession) -> bool:
        if not row.authserver_iss or row.dpop_private_jwk is None or row.revoked_at is not None:
            return False
        try:
            key = dpop.key_from_json(self.box.open(row.dpop_private_jwk, f"sessions.dpop:{row.id}"))
            tokens = [
                self.box.open(sealed, f"sessions.{kind}:{row.id}").decode()
                for kind, sealed in (("refresh", row.refresh_token), ("access", row.access_token))
                if sealed is not None
            ]
            server = authorization_server(
                self.http, row.authserver_iss, confidential=not self.config.loopback
            )
            session = DpopSession(key, as_nonce=row.dpop_authserver_nonce)
            for token in tokens:  # the refresh token first: revoking it ends the whole grant
                self.oauth.revoke(server, session, token)
        except (AtprotoError, DecryptionError, ValueError) as exc:
            log.warning("could not revoke ATProto tokens", extra={"sid": row.id, "error": str(exc)})
            return False
        return True

    def _revoke_quietly(self, server: AuthServer, session: DpopSession, tokens: Tokens) -> None:
        for token in (tokens.refresh_token, tokens.access_token):
            if token:
                with contextlib.suppress(AtprotoError):
                    self.oauth.revoke(server, session, token)

    # -- for the session's owner ---------------------------------------------------------------------------------
    def session_client(self, sid: str) -> tuple[DpopSession, str, str]:
        """(DPoP state, access token, PDS URL) of a live session, for DPoP-bound calls to the user's PDS."""
        with self.db() as db:
            row = db.get(UserSession, sid)
            if row is None or row.revoked_at is not None or row.access_token is None or row.pds_url is None:
                raise CallbackError("no ATProto session")
            assert row.dpop_private_jwk is not None
            key = dpop.key_from_json(self.box.open(row.dpop_private_jwk, f"sessions.dpop:{sid}"))
            access = self.box.open(row.access_token, f"sessions.access:{sid}").decode()
            return DpopSession(key, row.dpop_authserver_nonce, row.dpop_pds_nonce), access, row.pds_url
