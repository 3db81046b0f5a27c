"""The public profile (``app.bsky.actor.profile/self``) from the account's own PDS, if there is one."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from urllib.parse import urlencode

from wikibot_shared.safehttp import FetchError, SafeHttp

log = logging.getLogger("wikibot.platform.atproto")

PROFILE_LIMIT = 256 * 1024


@dataclass(frozen=True)
class Profile:
    display_name: str | None
    avatar_url: str | None


NO_PROFILE = Profile(None, None)


def fetch_profile(http: SafeHttp, pds_url: str, did: str) -> Profile:
    """``com.atproto.repo.getRecord``; absence, errors and odd records all mean "no profile"."""
    query = urlencode({"repo": did, "collection": "app.bsky.actor.profile", "rkey": "self"})
    try:
        response = http.get(f"{pds_url}/xrpc/com.atproto.repo.getRecord?{query}", max_bytes=PROFILE_LIMIT)
        if response.status_code != 200:
            return NO_PROFILE
        data = response.json()
    except FetchError as exc:
        log.info("profile unavailable", extra={"did": did, "error": exc.message})
        return NO_PROFILE
    value = data.get("value") if isinstance(data, dict) else None
    if not isinstance(value, dict):
        return NO_PROFILE
    name = value.get("displayName")
    display_name = name.strip()[:640] or None if isinstance(name, str) else None
    avatar_url = None
    avatar = value.get("avatar")
    ref = avatar.get("ref") if isinstance(avatar, dict) else None
    cid = ref.get("$link") if isinstance(ref, dict) else None
    if isinstance(cid, str) and cid.isalnum() and len(cid) < 200:
        avatar_url = f"{pds_url}/xrpc/com.atproto.sync.getBlob?" + urlencode({"did": did, "cid": cid})
    return Profile(display_name, avatar_url)
