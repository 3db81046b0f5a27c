"""Platform settings: the shared ones plus ``PLATFORM_*`` (and ``TIERS_JSON``, ``ADMIN_DIDS``)."""

from __future__ import annotations

import json
from typing import Any

from pydantic import AliasChoices, Field, model_validator
from pydantic_settings import SettingsConfigDict

from wikibot_shared.config import CommonSettings
from wikibot_shared.errors import ConfigError
from wikibot_shared.tiers import Tier, load_tiers

# Requests per window (seconds), per key; ``PLATFORM_RATE_LIMITS`` (JSON) overrides any of them.
DEFAULT_RATE_LIMITS: dict[str, tuple[int, int]] = {
    "sign_in": (20, 300),  # per client address: /auth/login, /auth/link
    "callback": (30, 300),  # per client address: /auth/callback
    "consent": (30, 300),  # per user: OAuth consent decisions
    "wiki_create": (10, 3600),  # per user
    "token_create": (30, 3600),  # per user
    "api_write": (120, 60),  # per user: every unsafe /api and /app request
}


class PlatformSettings(CommonSettings):
    model_config = SettingsConfigDict(env_prefix="PLATFORM_", extra="ignore", populate_by_name=True)

    host: str = "0.0.0.0"  # noqa: S104 - inside its container, behind Caddy
    port: int = 8002
    workers: int = Field(2, ge=1, le=64)
    session_ttl: int = Field(7 * 24 * 3600, ge=300)
    tiers_json: str | None = Field(None, validation_alias=AliasChoices("TIERS_JSON", "tiers_json"))
    admin_dids_raw: str = Field("", validation_alias=AliasChoices("ADMIN_DIDS", "admin_dids"))
    rate_limits_json: str | None = Field(
        None, validation_alias=AliasChoices("PLATFORM_RATE_LIMITS", "rate_limits_json")
    )
    login_link_ttl: int = Field(600, ge=30, le=24 * 3600)
    # Internal readiness URLs shown on the admin stats page (compose service names by default).
    peer_health_urls_json: str = Field(
        '{"mcp": "http://mcp:8001/readyz", "otterwiki": "http://otterwiki:8000/readyz"}',
        validation_alias=AliasChoices("PLATFORM_PEER_HEALTH_URLS", "peer_health_urls_json"),
    )

    @model_validator(mode="after")
    def _check_platform(self) -> PlatformSettings:
        try:
            load_tiers(self.tiers_json)
        except ConfigError as exc:
            raise ValueError(exc.message) from None
        for did in self.admin_dids:
            if not did.startswith("did:"):
                raise ValueError(f"ADMIN_DIDS: {did!r} is not a DID (comma-separated did:plc:… / did:web:…)")
        self.rate_limits  # noqa: B018 - validates PLATFORM_RATE_LIMITS
        self.peer_health_urls  # noqa: B018
        return self

    @property
    def tiers(self) -> dict[str, Tier]:
        return load_tiers(self.tiers_json)

    @property
    def admin_dids(self) -> frozenset[str]:
        return frozenset(d.strip() for d in self.admin_dids_raw.split(",") if d.strip())

    @property
    def rate_limits(self) -> dict[str, tuple[int, int]]:
        limits = dict(DEFAULT_RATE_LIMITS)
        if not self.rate_limits_json:
            return limits
        data = _json_object(self.rate_limits_json, "PLATFORM_RATE_LIMITS")
        for name, value in data.items():
            if (
                name not in limits
                or not isinstance(value, list)
                or len(value) != 2
                or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value)
            ):
                raise ValueError(
                    f"PLATFORM_RATE_LIMITS: {name!r} must be one of {', '.join(limits)} "
                    "with [requests, window seconds]"
                )
            limits[name] = (value[0], value[1])
        return limits

    @property
    def peer_health_urls(self) -> dict[str, str]:
        data = _json_object(self.peer_health_urls_json, "PLATFORM_PEER_HEALTH_URLS")
        if not all(isinstance(v, str) and v.startswith("http") for v in data.values()):
            raise ValueError("PLATFORM_PEER_HEALTH_URLS: values must be http(s) URLs")
        return {str(k): str(v) for k, v in data.items()}


def _json_object(raw: str, name: str) -> dict[str, Any]:
    try:
        data = json.loads(raw)
    except ValueError:
        raise ValueError(f"{name}: not valid JSON") from None
    if not isinstance(data, dict):
        raise ValueError(f"{name}: must be a JSON object")
    return data
