"""embedder settings: the shared ones plus ``EMBEDDER_*``."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from wikibot_shared.config import CommonSettings


class EmbedderSettings(CommonSettings):
    model_config = SettingsConfigDict(env_prefix="EMBEDDER_", extra="ignore", populate_by_name=True)

    host: str = "0.0.0.0"  # noqa: S104 - inside its container, on the internal network only
    port: int = 8003
    workers: int = Field(1, ge=1, le=64)
