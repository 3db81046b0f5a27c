"""``services/accounts.py`` without HTTP: the signed-in person as ``Me`` (what ``/api/me`` and the pages show)."""

from __future__ import annotations

import tarfile
from dataclasses import asdict
from pathlib import Path

from services.platform.tests.support import Platform, make, share
from wikibot_platform.schemas import Me, TierPublic
from wikibot_platform.services import accounts
from wikibot_shared.tiers import tier_for


def test_me_has_the_tier_and_counts_owned_wikis(platform: Platform) -> None:
    alice, bob = platform.user("alice"), platform.user("bob")
    make(platform, alice)
    make(platform, bob, "bobs")
    share(platform, "bobs", alice, "viewer")
    platform.settings.admin_dids_raw = alice
    with platform.app.state.db() as db:
        me = accounts.me(db, platform.settings, platform.principal(alice))
    assert isinstance(me, Me)
    assert (me.did, me.handle, me.username, me.wikis_owned, me.is_admin) == (
        alice,
        "alice.test",
        "alice",
        1,
        True,
    )
    assert me.tier == TierPublic(**asdict(tier_for(platform.settings.tiers, "free")))
    assert (me.tier.name, me.tier.wikis_per_user) == ("free", 3)


def test_export_holds_a_bundle_per_wiki_on_the_dashboard(platform: Platform, tmp_path: Path) -> None:
    alice, bob = platform.user("alice"), platform.user("bob")
    make(platform, alice)
    make(platform, bob, "bobs")
    share(platform, "bobs", alice, "viewer")
    with platform.app.state.db() as db:
        archive = accounts.export_archive(db, platform.settings, platform.principal(alice), tmp_path)
    with tarfile.open(archive) as tar:
        names = sorted(tar.getnames())
    assert names == [
        "wikibot-export/bobs.bundle",
        "wikibot-export/notes.bundle",
        "wikibot-export/wikibot-export.json",
    ]
