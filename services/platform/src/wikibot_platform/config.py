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
