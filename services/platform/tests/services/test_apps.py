"""``services/apps.py`` without HTTP: connected apps as ``AppPublic``; owners see everyone's, others their own."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from services.platform.tests.support import Platform, make, share
from wikibot_platform.schemas import AppPublic
from wikibot_platform.services import apps
from wikibot_shared.db import transaction
from wikibot_shared.errors import NotFound
from wikibot_shared.models import OAuthClient, OAuthGrant


def grant(platform: Platform, grant_id: str, did: str, client_id: str) -> None:
    with transaction(platform.app.state.db) as db:
        db.add(
            OAuthGrant(
                id=grant_id,
                client_id=client_id,
                user_did=did,
                wiki_slug="notes",
                scopes="wiki:read",
                token_issued_at=datetime.now(UTC),
            )
        )


def test_owners_see_every_app_and_others_their_own(platform: Platform) -> None:
    alice, bob = platform.user("alice"), platform.user("bob")
    make(platform, alice)
    share(platform, "notes", bob, "editor")
    with transaction(platform.app.state.db) as db:
        db.add(OAuthClient(client_id="c1", client_name="Claude", redirect_uris=["https://claude.example/cb"]))
        db.add(OAuthClient(client_id="c2"))
    grant(platform, "g1", alice, "c1")
    grant(platform, "g2", bob, "c2")
    with platform.app.state.db() as db:
        everyone = apps.list_apps(db, "notes", platform.principal(alice))
        own = apps.list_apps(db, "notes", platform.principal(bob))
    assert {a.id for a in everyone} == {"g1", "g2"}
    assert all(isinstance(a, AppPublic) for a in everyone)
    claude = next(a for a in everyone if a.id == "g1")
    assert (claude.client_name, claude.client_host, claude.user_handle, claude.scopes) == (
        "Claude",
        "claude.example",
        "alice.test",
        ["wiki:read"],
    )
    assert [(a.id, a.client_name, a.client_host) for a in own] == [("g2", "c2", None)]  # no name: its id


def test_revoked_apps_show_as_ended_for_30_days_then_leave(platform: Platform) -> None:
    alice = platform.user("alice")
    make(platform, alice)
    with transaction(platform.app.state.db) as db:
        db.add(OAuthClient(client_id="c1", client_name="Claude"))
    grant(platform, "g1", alice, "c1")
    with platform.app.state.db() as db:
        apps.revoke_app(db, "notes", platform.principal(alice), "g1")
        (ended,) = apps.list_apps(db, "notes", platform.principal(alice))
        assert (ended.id, ended.status) == ("g1", "ended")
        assert ended.ended_at is not None
        refusal = next(s for s in ended.steps if s.step == "last_refusal")
        assert refusal.detail == "disconnected in Wikibot by @alice.test"
        with pytest.raises(NotFound) as again:
            apps.revoke_app(db, "notes", platform.principal(alice), "g1")
        assert again.value.code == "unknown_app"
        db.execute(
            update(OAuthGrant).values(revoked_at=datetime.now(UTC) - apps.ENDED_SHOWN - timedelta(minutes=1))
        )
        db.commit()
        assert apps.list_apps(db, "notes", platform.principal(alice)) == []


def test_each_connection_step_is_shown_as_it_happened(platform: Platform) -> None:
    alice = platform.user("alice")
    make(platform, alice)
    with transaction(platform.app.state.db) as db:
        db.add(OAuthClient(client_id="c2", client_name="Agent"))
    grant(platform, "g2", alice, "c2")
    with transaction(platform.app.state.db) as db:
        db.execute(update(OAuthGrant).where(OAuthGrant.id == "g2").values(token_issued_at=None))
    with platform.app.state.db() as db:
        (waiting,) = apps.list_apps(db, "notes", platform.principal(alice))
        assert waiting.status == "waiting"
        steps = {s.step: s for s in waiting.steps}
        assert list(steps) == [
            "registered",
            "consented",
            "token_issued",
            "first_call",
            "last_call",
            "last_refresh",
            "last_refusal",
        ]
        assert steps["registered"].at is not None
        assert steps["consented"].at is not None
        assert all(
            steps[s].at is None for s in ("token_issued", "first_call", "last_refresh", "last_refusal")
        )
        now = datetime.now(UTC)
        db.execute(
            update(OAuthGrant)
            .where(OAuthGrant.id == "g2")
            .values(
                token_issued_at=now, first_used_at=now, last_refusal_at=now, last_refusal="token has expired"
            )
        )
        db.commit()
        (connected,) = apps.list_apps(db, "notes", platform.principal(alice))
        assert connected.status == "connected"
        last = {s.step: s for s in connected.steps}["last_refusal"]
        assert (last.at is not None, last.detail) == (True, "token has expired")
