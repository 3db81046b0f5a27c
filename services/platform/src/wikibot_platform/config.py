"""Platform settings: the shared ones plus ``PLATFORM_*``."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from wikibot_shared.config import CommonSettings


class PlatformSettings(CommonSettings):
    model_config = SettingsConfigDict(env_prefix="PLATFORM_", extra="ignore", populate_by_name=True)

    host: str = "0.0.0.0"  # noqa: S104 - inside its container, behind Caddy
    port: int = 8002
    workers: int = Field(2, ge=1, le=64)
    session_ttl: int = Field(7 * 24 * 3600, ge=300)

    # OAuth 2.1 authorization server for MCP clients (docs/oauth.md)
    oauth_code_ttl: int = Field(120, ge=1, le=600)  # RFC 6749 §4.1.2: short-lived, at most 10 minutes
    oauth_access_ttl: int = Field(3600, ge=60, le=24 * 3600)
    oauth_refresh_ttl: int = Field(30 * 24 * 3600, ge=3600)
    oauth_consent_ttl: int = Field(900, ge=60)  # how long a consent page stays answerable
    oauth_register_limit: int = Field(30, ge=1)  # registrations per client address per window
    oauth_register_window: int = Field(3600, ge=1)
    oauth_cimd_ttl: int = Field(3600, ge=0)  # how long a fetched client metadata document is trusted
