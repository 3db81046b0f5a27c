"""Every way a credential can be refused by the one verification entry point, and the ways it passes."""

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey
from sqlalchemy.orm import Session, sessionmaker

from wikibot_shared.acl import Action
from wikibot_shared.config import CommonSettings
from wikibot_shared.db import transaction
from wikibot_shared.errors import AuthError, Forbidden, InsufficientScope, InvalidHost, NotFound, ReadOnly
from wikibot_shared.keys import KeyStore, generate_es256
from wikibot_shared.models import AccessToken, Acl, OAuthClient, OAuthGrant, User, UserSession, Wiki
from wikibot_shared.tokens import (
    ACCESS_TYP,
    SESSION_COOKIE,
    AccessClaims,
    issue_access_token,
    issue_session,
    new_opaque,
)
from wikibot_shared.verify import LocalKeys, Verifier

S = CommonSettings(
    domain="wiki.example.org", public_scheme="https", public_port=443, data_dir=Path("/nonexistent")
)
NOTES = "notes.wiki.example.org"
OTHER = "other.wiki.example.org"
PLATFORM = "wiki.example.org"
ALICE, BOB, CAROL, DAVE = "did:plc:alice", "did:plc:bob", "did:plc:carol", "did:plc:dave"


class World:
    def __init__(self, db: sessionmaker[Session], keys: KeyStore) -> None:
        self.db = db
        self.keys = keys
        self.verifier = Verifier(S, db, LocalKeys(keys, min_interval=0))
        self.pats: dict[str, str] = {}

    @property
    def key(self) -> ECKey:
        return self.keys.current().key

    def session(self, did: str = ALICE, sid: str = "s-alice", **kw: int) -> str:
        return issue_session(
            self.key,
            issuer=S.issuer,
            audience=S.session_audience,
            did=did,
            sid=sid,
            ttl=kw.get("ttl", 600),
            now=kw.get("now"),
        )

    def access(
        self,
        did: str = ALICE,
        wiki: str = "notes",
        grant: str = "g-alice",
        scope: str = "wiki:read wiki:write",
        **kw: int,
    ) -> str:
        claims = AccessClaims(
            issuer=S.issuer,
            audience=S.mcp_resource(wiki),
            did=did,
            client_id="c1",
            scope=scope,
            grant_id=grant,
            ttl=kw.get("ttl", 600),
        )
        return issue_access_token(self.key, claims, now=kw.get("now"))

    def auth(
        self,
        host: str,
        token: str | None = None,
        *,
        cookie: str | None = None,
        action: Action = Action.READ,
        scheme: str = "Bearer",
    ):  # type: ignore[no-untyped-def]
        headers = {"Authorization": f"{scheme} {token}"} if token is not None else {}
        cookies = {SESSION_COOKIE: cookie} if cookie else {}
        return self.verifier.authorize(host, headers, cookies, action)


@pytest.fixture
def world(db_factory: sessionmaker[Session], tmp_path: Path) -> World:
    keys = KeyStore(tmp_path / "keys")
    keys.ensure()
    w = World(db_factory, keys)
    now = datetime.now(UTC)
    with transaction(db_factory) as db:
        db.add_all([User(did=d, handle=d.split(":")[-1] + ".test") for d in (ALICE, BOB, CAROL, DAVE)])
        db.add(OAuthClient(client_id="c1", client_name="Test client"))
        db.flush()
        db.add(Wiki(slug="notes", owner_did=ALICE, display_name="Notes"))
        db.add(Wiki(slug="other", owner_did=DAVE, display_name="Other"))
        db.add(Wiki(slug="open", owner_did=DAVE, display_name="Open", is_public=True))
        db.add(Wiki(slug="gone", owner_did=ALICE, display_name="Lapsed", payment_status="lapsed"))
        db.flush()
        db.add(Acl(wiki_slug="notes", grantee_did=BOB, role="editor"))
        db.add(Acl(wiki_slug="notes", grantee_did=CAROL, role="viewer"))
        for sid, did in (("s-alice", ALICE), ("s-carol", CAROL), ("s-dave", DAVE)):
            db.add(UserSession(id=sid, did=did, method="link"))
        db.add(UserSession(id="s-ended", did=ALICE, method="link", revoked_at=now))
        db.add(
            OAuthGrant(
                id="g-alice", client_id="c1", user_did=ALICE, wiki_slug="notes", scopes="wiki:read wiki:write"
            )
        )
        db.add(
            OAuthGrant(id="g-carol", client_id="c1", user_did=CAROL, wiki_slug="notes", scopes="wiki:read")
        )
        db.add(
            OAuthGrant(
                id="g-revoked",
                client_id="c1",
                user_did=ALICE,
                wiki_slug="notes",
                scopes="wiki:read",
                revoked_at=now,
            )
        )
        for name, wiki, owner, scopes, extra in [
            ("rw", "notes", ALICE, "wiki:read wiki:write", {}),
            ("ro", "notes", ALICE, "wiki:read", {}),
            ("revoked", "notes", ALICE, "wiki:read", {"revoked_at": now}),
            ("expired", "notes", ALICE, "wiki:read", {"expires_at": now - timedelta(seconds=1)}),
            ("other", "other", DAVE, "wiki:read", {}),
            ("bob", "notes", BOB, "wiki:read wiki:write", {}),
        ]:
            token, digest = new_opaque("wbp_")
            w.pats[name] = token
            db.add(
                AccessToken(
                    id="t-" + name,
                    token_hash=digest,
                    wiki_slug=wiki,
                    owner_did=owner,
                    name=name,
                    scopes=scopes,
                    **extra,
                )
            )
    return w


def _expect_401(fn: Callable[[], object], fragment: str) -> AuthError:
    with pytest.raises(AuthError) as err:
        fn()
    assert fragment in err.value.message
    assert err.value.status == 401
    assert err.value.challenge is not None
    return err.value


# -- what passes -----------------------------------------------------------------------------------------


def test_session_cookie_and_bearer(world: World) -> None:
    access = world.auth(NOTES, cookie=world.session())
    assert access.principal.did == ALICE
    assert access.principal.method == "session"
    assert access.principal.scopes is None
    assert access.principal.handle == "alice.test"
    assert access.wiki.role == "owner"
    tenant, principal = world.verifier.authenticate(
        PLATFORM, {"authorization": "Bearer " + world.session()}, {}
    )
    assert tenant.is_platform
    assert principal.credential_id == "s-alice"


def test_oauth_access_token_on_its_wiki(world: World) -> None:
    access = world.auth(NOTES, world.access(), action=Action.WRITE)
    assert access.principal.method == "oauth"
    assert access.principal.client_id == "c1"
    assert access.principal.scopes == frozenset({"wiki:read", "wiki:write"})
    with world.db() as db:
        grant = db.get(OAuthGrant, "g-alice")
        assert grant is not None
        assert grant.last_used_at is not None


def test_personal_access_token_bearer_and_basic(world: World) -> None:
    access = world.auth(NOTES, world.pats["rw"], action=Action.WRITE)
    assert (access.principal.method, access.principal.credential_id) == ("pat", "t-rw")
    basic = base64.b64encode(f"anyone:{world.pats['ro']}".encode()).decode()
    assert world.auth(NOTES, basic, scheme="Basic").principal.credential_id == "t-ro"
    with world.db() as db:
        row = db.get(AccessToken, "t-rw")
        assert row is not None
        assert row.last_used_at is not None


def test_anonymous_reads_a_public_wiki(world: World) -> None:
    access = world.auth("open.wiki.example.org")
    assert access.principal.is_anonymous
    assert access.wiki.role is None


# -- authentication refusals (401) -----------------------------------------------------------------------


def test_no_credentials_on_private_wiki_gets_a_challenge_without_error(world: World) -> None:
    """The challenge asks for what connecting an agent needs (read and write), whatever this request does: a
    client asking for less would need a second consent to write (RFC 6750 §3, no ``error`` without credentials)."""
    for action in (Action.READ, Action.WRITE):
        err = _expect_401(lambda action=action: world.auth(NOTES, action=action), "authentication required")
        assert err.challenge == (
            'Bearer resource_metadata="https://notes.wiki.example.org/.well-known/oauth-protected-resource/mcp", '
            'scope="wiki:read wiki:write"'
        )


def test_session_refusals(world: World) -> None:
    past = int(time.time()) - 3600
    _expect_401(lambda: world.auth(NOTES, cookie=world.session(sid="s-ended")), "session has ended")
    _expect_401(lambda: world.auth(NOTES, cookie=world.session(sid="s-unknown")), "session has ended")
    _expect_401(
        lambda: world.auth(NOTES, cookie=world.session(sid="s-carol")), "session has ended"
    )  # sid of another
    _expect_401(lambda: world.auth(NOTES, cookie=world.session(now=past, ttl=60)), "expired")
    _expect_401(lambda: world.auth(NOTES, cookie=world.session(now=int(time.time()) + 3600)), "future")
    _expect_401(lambda: world.auth(NOTES, cookie=world.access()), "does not hold a session")


def test_access_token_refusals(world: World) -> None:
    err = _expect_401(lambda: world.auth(OTHER, world.access()), "another resource")
    assert 'error="invalid_token"' in str(err.challenge)
    assert "other.wiki.example.org/.well-known/oauth-protected-resource/mcp" in str(err.challenge)
    _expect_401(lambda: world.auth(NOTES, world.access(grant="g-revoked")), "revoked")
    _expect_401(lambda: world.auth(NOTES, world.access(grant="g-missing")), "revoked")
    _expect_401(lambda: world.auth(NOTES, world.access(did=BOB)), "does not match")
    _expect_401(lambda: world.auth(NOTES, world.access(ttl=-120)), "expired")
    _expect_401(
        lambda: world.verifier.authenticate(PLATFORM, {"Authorization": "Bearer " + world.access()}, {}),
        "wiki hosts only",
    )


def _forge(header: dict[str, object], claims: dict[str, object], sign: Callable[[bytes], bytes]) -> str:
    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    signing_input = b64(json.dumps(header).encode()) + "." + b64(json.dumps(claims).encode())
    return signing_input + "." + b64(sign(signing_input.encode()))


def _claims(aud: str) -> dict[str, object]:
    now = int(time.time())
    return {
        "iss": S.issuer,
        "aud": aud,
        "sub": ALICE,
        "gid": "g-alice",
        "sid": "s-alice",
        "iat": now,
        "exp": now + 600,
        "scope": "wiki:read wiki:write",
    }


def test_alg_none_and_algorithm_confusion_rejected(world: World) -> None:
    kid = world.keys.current().kid
    aud = S.mcp_resource("notes")
    none_token = _forge({"alg": "none", "typ": ACCESS_TYP, "kid": kid}, _claims(aud), lambda _: b"")
    _expect_401(lambda: world.auth(NOTES, none_token), "algorithm must be ES256")
    # HS256 keyed with the public key: the classic confusion attack.
    public_pem = json.dumps(world.keys.current().public_jwk()).encode()
    hs = _forge(
        {"alg": "HS256", "typ": ACCESS_TYP, "kid": kid},
        _claims(aud),
        lambda m: hmac.new(public_pem, m, hashlib.sha256).digest(),
    )
    _expect_401(lambda: world.auth(NOTES, hs), "algorithm must be ES256")
    # ES256 claimed, but the signature is garbage.
    bad = _forge({"alg": "ES256", "typ": ACCESS_TYP, "kid": kid}, _claims(aud), lambda _: b"\x00" * 64)
    _expect_401(lambda: world.auth(NOTES, bad), "does not verify")


def test_tampered_wrong_issuer_unknown_kid_and_junk(world: World) -> None:
    token = world.access()
    head, body, sig = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    claims["scope"] = "wiki:read wiki:write admin"
    forged_body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    _expect_401(lambda: world.auth(NOTES, f"{head}.{forged_body}.{sig}"), "does not verify")
    stranger = generate_es256()
    foreign = jwt.encode(
        {"alg": "ES256", "typ": ACCESS_TYP, "kid": stranger.kid}, _claims(S.mcp_resource("notes")), stranger
    )
    _expect_401(lambda: world.auth(NOTES, foreign), "unknown key")
    wrong_iss = jwt.encode(
        {"alg": "ES256", "typ": ACCESS_TYP, "kid": world.keys.current().kid},
        {**_claims(S.mcp_resource("notes")), "iss": "https://evil.example"},
        world.key,
    )
    _expect_401(lambda: world.auth(NOTES, wrong_iss), "someone else")
    untyped = jwt.encode(
        {"alg": "ES256", "kid": world.keys.current().kid}, _claims(S.mcp_resource("notes")), world.key
    )
    _expect_401(lambda: world.auth(NOTES, untyped), "not a token this server issues")
    _expect_401(lambda: world.auth(NOTES, "not-a-token"), "malformed")
    _expect_401(lambda: world.auth(NOTES, "a.b"), "malformed")
    _expect_401(lambda: world.auth(NOTES, "", scheme="Bearer"), "unsupported or empty")
    _expect_401(lambda: world.auth(NOTES, "abc", scheme="Digest"), "unsupported or empty")


def test_rotation_new_kid_is_fetched_once(world: World) -> None:
    world.auth(NOTES, world.access())  # loads the keys
    world.keys.rotate()
    assert world.auth(NOTES, world.access()).principal.did == ALICE  # unknown kid → reload → passes


def test_personal_access_token_refusals(world: World) -> None:
    _expect_401(lambda: world.auth(NOTES, world.pats["revoked"]), "revoked")
    _expect_401(lambda: world.auth(NOTES, world.pats["expired"]), "expired")
    _expect_401(lambda: world.auth(NOTES, world.pats["other"]), "another wiki")
    _expect_401(lambda: world.auth(NOTES, "wbp_" + "x" * 43), "unknown personal access token")
    _expect_401(
        lambda: world.verifier.authenticate(PLATFORM, {"Authorization": "Bearer " + world.pats["rw"]}, {}),
        "wiki hosts only",
    )
    no_pat = base64.b64encode(b"user:hunter2").decode()
    _expect_401(lambda: world.auth(NOTES, no_pat, scheme="Basic"), "personal access token as the password")
    _expect_401(lambda: world.auth(NOTES, "%%%", scheme="Basic"), "malformed Basic")


# -- authorization refusals (403) and tenancy -------------------------------------------------------------


def test_scope_and_role_refusals(world: World) -> None:
    with pytest.raises(InsufficientScope) as err:
        world.auth(NOTES, world.pats["ro"], action=Action.WRITE)
    assert err.value.status == 403
    assert 'error="insufficient_scope"' in str(err.value.challenge)
    assert 'scope="wiki:write"' in str(err.value.challenge)
    with pytest.raises(Forbidden, match="viewer"):
        world.auth(NOTES, cookie=world.session(did=CAROL, sid="s-carol"), action=Action.WRITE)
    with pytest.raises(Forbidden, match="no access"):
        world.auth(NOTES, cookie=world.session(did=DAVE, sid="s-dave"))
    with pytest.raises(Forbidden, match="needs a signed-in session"):
        world.auth(NOTES, world.pats["rw"], action=Action.MANAGE)
    with pytest.raises(ReadOnly):
        world.auth("gone.wiki.example.org", cookie=world.session(), action=Action.WRITE)


def test_removed_collaborator_is_locked_out_at_once(world: World) -> None:
    token = world.pats["bob"]
    world.auth(NOTES, token, action=Action.WRITE)
    with transaction(world.db) as db:
        db.delete(db.get(Acl, ("notes", BOB)))
    with pytest.raises(Forbidden):
        world.auth(NOTES, token)


def test_hosts(world: World) -> None:
    with pytest.raises(InvalidHost):
        world.auth("evil.com", world.pats["rw"])
    with pytest.raises(NotFound):
        world.auth("missing.wiki.example.org", cookie=world.session())
    with pytest.raises(NotFound):
        world.auth("api.wiki.example.org", cookie=world.session())
    with pytest.raises(AuthError, match="not a wiki host"):
        world.auth(PLATFORM, cookie=world.session())


def test_client_identity_headers_are_ignored(world: World) -> None:
    headers = {"x-otterwiki-email": ALICE, "x-forwarded-user": ALICE, "x-wikibot-did": ALICE}
    with pytest.raises(AuthError):
        world.verifier.authorize(NOTES, headers, {}, Action.READ)


def test_keys_that_cannot_be_fetched_are_a_503_not_a_sign_out(world: World) -> None:
    """A service that restarts while the platform is down has no keys yet: a good session or access token must
    not be refused as "unknown key" (Otterwiki would sign the person out, an MCP client would re-authorize), but
    answered as retryable until the JWKS can be read; a token from a key the platform never had still fails."""
    import http.server
    import threading

    from wikibot_shared.errors import Unavailable
    from wikibot_shared.verify import RemoteJWKS

    jwks = json.dumps(world.keys.jwks()).encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(jwks)

        def log_message(self, *args: object) -> None:
            pass

    probe = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    port = probe.server_address[1]
    probe.server_close()  # the platform is down: nothing listens on its port
    remote = RemoteJWKS(f"http://127.0.0.1:{port}/.well-known/jwks.json", min_interval=0)
    verifier = Verifier(S, world.db, remote)
    with pytest.raises(Unavailable) as down:
        verifier.authorize(NOTES, {}, {SESSION_COOKIE: world.session()}, Action.READ)
    assert down.value.status == 503
    assert "try again" in str(down.value)
    with pytest.raises(Unavailable):
        verifier.authorize(NOTES, {"Authorization": f"Bearer {world.access()}"}, {}, Action.READ)

    server = http.server.HTTPServer(("127.0.0.1", port), Handler)  # the platform is back
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        assert (
            verifier.authorize(NOTES, {}, {SESSION_COOKIE: world.session()}, Action.READ).principal.did
            == ALICE
        )
        stranger = issue_session(
            generate_es256(), issuer=S.issuer, audience=S.session_audience, did=ALICE, sid="s-alice", ttl=600
        )
        with pytest.raises(AuthError):
            verifier.authorize(NOTES, {}, {SESSION_COOKIE: stranger}, Action.READ)
    finally:
        server.shutdown()
        server.server_close()
