"""The account: who I am, exporting everything I can reach, and deleting myself."""

from __future__ import annotations

import json
import logging
import tarfile
import tempfile
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from wikibot_shared import storage
from wikibot_shared.errors import InputError, NotFound
from wikibot_shared.models import Acl, User, Wiki
from wikibot_shared.tiers import tier_for
from wikibot_shared.verify import Principal

from ..config import PlatformSettings
from ..schemas import Me, TierPublic
from .wikis import did_of, list_wikis

log = logging.getLogger("wikibot.platform.accounts")


def me(db: Session, settings: PlatformSettings, principal: Principal) -> Me:
    did = did_of(principal)
    user = db.get(User, did)
    if user is None:
        raise NotFound("your account no longer exists", code="unknown_user")
    owned = db.execute(select(func.count()).select_from(Wiki).where(Wiki.owner_did == did)).scalar_one()
    return Me(
        did=did,
        handle=user.handle,
        display_name=user.display_name,
        avatar_url=user.avatar_url,
        username=user.username,
        tier=TierPublic(**asdict(tier_for(settings.tiers, user.tier))),
        wikis_owned=owned,
        is_admin=did in settings.admin_dids,
        created_at=user.created_at,
    )


def export_archive(db: Session, settings: PlatformSettings, principal: Principal, workdir: Path) -> Path:
    """A tar of one git bundle per wiki on the dashboard (owned and shared) plus ``wikibot-export.json``.

    Bundles are read without the write lock: git's reads see a consistent commit whatever writers do."""
    wikis = list_wikis(db, settings, principal)
    staging = Path(tempfile.mkdtemp(prefix="export-", dir=workdir))
    entries: list[dict[str, object]] = []
    for wiki in wikis:
        repo = storage.wiki_paths(settings.wikis_dir, wiki.slug).repo
        if not repo.is_dir():
            continue
        storage.git(repo, "bundle", "create", str(staging / f"{wiki.slug}.bundle"), "--all")
        entries.append(
            {
                "slug": wiki.slug,
                "display_name": wiki.display_name,
                "is_public": wiki.is_public,
                "role": wiki.role,
                "bundle": f"{wiki.slug}.bundle",
                "restore": f"git clone {wiki.slug}.bundle {wiki.slug}",
            }
        )
    manifest = {
        "exported_at": datetime.now(UTC).isoformat(),
        "did": principal.did,
        "handle": principal.handle,
        "wikis": entries,
    }
    (staging / "wikibot-export.json").write_text(json.dumps(manifest, indent=2))
    archive = workdir / f"{staging.name}.tar"
    with tarfile.open(archive, "w") as tar:
        for path in sorted(staging.iterdir()):
            tar.add(path, arcname=f"wikibot-export/{path.name}")
            path.unlink()
    staging.rmdir()
    log.info("export made", extra={"by": principal.did, "wikis": len(entries)})
    return archive


def delete_account(db: Session, settings: PlatformSettings, principal: Principal, confirm: str) -> list[str]:
    """Delete the user, the wikis they own (repositories included) and their places on others' wikis.

    ``confirm`` must be their username, handle or DID. Sessions, tokens and grants go with the user row, so every
    copy of their cookie stops working at once. Returns the slugs of the deleted wikis."""
    did = did_of(principal)
    user = db.get(User, did)
    if user is None:
        raise NotFound("your account no longer exists", code="unknown_user")
    accepted = {v for v in (user.username, user.handle, user.did) if v}
    if confirm.strip().lstrip("@") not in accepted:
        raise InputError(
            "to delete your account, type your username exactly as shown", code="confirmation_mismatch"
        )
    owned = list(db.execute(select(Wiki).where(Wiki.owner_did == did)).scalars())
    db.execute(delete(Acl).where(Acl.grantee_did == did))
    for wiki in owned:
        db.delete(wiki)
    db.delete(user)
    db.commit()
    for wiki in owned:
        storage.remove_wiki(settings.wikis_dir, wiki.slug)
    log.info("account deleted", extra={"did": did, "wikis": [w.slug for w in owned]})
    return [w.slug for w in owned]
