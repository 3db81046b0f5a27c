"""Tiers: what each plan allows, from configuration, and the checks every writer makes before a write.

Defaults below; an operator overrides them with ``TIERS_JSON`` (a JSON object of tier name → limits, merged
over the defaults), e.g. ``TIERS_JSON='{"free": {"pages_per_wiki": 1000}}'``. The platform enforces wikis per
user; every writer of a repository (UI, MCP, REST, git push) enforces the rest with ``check_write``, once, before
it commits.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields, replace
from pathlib import Path

from . import git
from .errors import ConfigError, Forbidden, GitError, LimitExceeded

MB = 1024 * 1024


@dataclass(frozen=True)
class Tier:
    name: str
    wikis_per_user: int
    pages_per_wiki: int
    bytes_per_wiki: int
    attachment_bytes: int
    git_push: bool


DEFAULT_TIERS: dict[str, Tier] = {
    "free": Tier(
        "free",
        wikis_per_user=3,
        pages_per_wiki=1000,
        bytes_per_wiki=50 * MB,
        attachment_bytes=5 * MB,
        git_push=True,
    ),
    "premium": Tier(
        "premium",
        wikis_per_user=50,
        pages_per_wiki=100_000,
        bytes_per_wiki=5000 * MB,
        attachment_bytes=100 * MB,
        git_push=True,
    ),
}


def load_tiers(raw: str | None) -> dict[str, Tier]:
    """Parse ``TIERS_JSON`` over the defaults; a problem is a one-line ``ConfigError``."""
    tiers = dict(DEFAULT_TIERS)
    if not raw:
        return tiers
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise ConfigError(f"TIERS_JSON: not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise ConfigError("TIERS_JSON: must be an object of tier name to limits")
    known = {f.name for f in fields(Tier)} - {"name"}
    for name, limits in data.items():
        if not isinstance(limits, dict) or set(limits) - known:
            raise ConfigError(f"TIERS_JSON: tier '{name}' may only set {', '.join(sorted(known))}")
        base = tiers.get(name, replace(DEFAULT_TIERS["free"], name=name))
        for key, value in limits.items():
            expected = bool if key == "git_push" else int
            if not isinstance(value, expected) or (
                expected is int and (isinstance(value, bool) or value < 0)
            ):
                raise ConfigError(
                    f"TIERS_JSON: {name}.{key} must be a {'boolean' if expected is bool else 'number ≥ 0'}"
                )
        tiers[name] = replace(base, **limits)
    return tiers


def tier_for(tiers: dict[str, Tier], name: str) -> Tier:
    return tiers.get(name) or tiers["free"]


@dataclass(frozen=True)
class Usage:
    pages: int
    bytes: int


def repo_usage(repo: Path, ref: str = "HEAD") -> Usage:
    """Pages (``*.md`` files) and bytes (all files) in ``ref``'s tree: one ``git ls-tree``, no checkout walk."""
    try:
        blobs = [entry for entry in git.ls_tree(repo, ref) if entry.type == "blob"]
    except GitError:
        return Usage(0, 0)  # not a repository yet, or no commit
    return Usage(sum(b.path.endswith(".md") for b in blobs), sum(b.size for b in blobs))


def check_growth(tier: Tier, before: Usage, after: Usage, *, attachment_bytes: int | None = None) -> None:
    """``check_write`` of what a change adds: only growth is refused, so a wiki over its (lowered) limits can still
    shrink or be edited in place."""
    grew = Usage(
        after.pages if after.pages > before.pages else 0,
        after.bytes if after.bytes > before.bytes else 0,
    )
    check_write(tier, grew, attachment_bytes=attachment_bytes)


def check_write(tier: Tier, after: Usage, *, attachment_bytes: int | None = None) -> None:
    """Refuse a write whose result would exceed the tier (413), before anything is committed."""
    if attachment_bytes is not None and attachment_bytes > tier.attachment_bytes:
        raise LimitExceeded(
            f"attachment is {attachment_bytes} bytes; the {tier.name} tier allows {tier.attachment_bytes} per file",
            code="attachment_too_large",
        )
    if after.pages > tier.pages_per_wiki:
        raise LimitExceeded(
            f"the {tier.name} tier allows {tier.pages_per_wiki} pages per wiki", code="too_many_pages"
        )
    if after.bytes > tier.bytes_per_wiki:
        raise LimitExceeded(
            f"the {tier.name} tier allows {tier.bytes_per_wiki // MB} MB per wiki", code="wiki_too_large"
        )


def check_push_allowed(tier: Tier) -> None:
    if not tier.git_push:
        raise Forbidden(f"git push is not part of the {tier.name} tier", code="push_not_allowed")
