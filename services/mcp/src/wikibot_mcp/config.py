"""mcp settings: the shared ones plus ``MCP_*``."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from wikibot_shared.config import CommonSettings


class McpSettings(CommonSettings):
    model_config = SettingsConfigDict(env_prefix="MCP_", extra="ignore", populate_by_name=True)

    host: str = "0.0.0.0"  # noqa: S104 - inside its container, behind Caddy
    port: int = 8001
    workers: int = Field(2, ge=1, le=64)

    @property
    def jwks_url(self) -> str:
        return self.platform_internal_url.rstrip("/") + "/.well-known/jwks.json"
