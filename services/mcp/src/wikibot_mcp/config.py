"""mcp settings: the shared ones plus ``MCP_*``."""

from __future__ import annotations

from pydantic import AliasChoices, Field, model_validator
from pydantic_settings import SettingsConfigDict

from wikibot_shared.config import CommonSettings
from wikibot_shared.errors import ConfigError
from wikibot_shared.ratelimit import parse_limits
from wikibot_shared.tiers import Tier, load_tiers

DEFAULT_RATE_LIMITS: dict[str, tuple[int, int]] = {
    "agent_call": (3000, 60),  # per credential (limits.py): every authorized agent-plane request
    "agent_write": (600, 60),  # per credential: every request authorized to write
}


class McpSettings(CommonSettings):
    model_config = SettingsConfigDict(env_prefix="MCP_", extra="ignore", populate_by_name=True)

    host: str = "0.0.0.0"  # noqa: S104 - inside its container, behind Caddy
    port: int = 8001
    metrics_port: int = Field(9101, ge=0, le=65535)  # Prometheus, internal network only; 0 = off
    workers: int = Field(
        2, ge=1, le=64
    )  # CPU-bound Python: about one per core (blocking work runs in threads)
    tiers_json: str | None = Field(None, validation_alias=AliasChoices("TIERS_JSON"))
    max_page_bytes: int = Field(2 * 1024 * 1024, ge=1024)
    max_body_bytes: int = Field(
        110 * 1024 * 1024, ge=1024
    )  # REST uploads and git pushes (tiers cap them further)
    search_timeout: float = Field(15.0, gt=0)
    # A search with min_commit waits up to this many seconds for the index to hold that commit (docs/agents.md);
    # at most search_freshness_waiters searches per process wait at once (each holds a worker thread).
    search_freshness_wait: float = Field(10.0, ge=0, le=60)
    search_freshness_waiters: int = Field(8, ge=0, le=64)
    # tools/call without the SDK's per-request machinery (direct_calls); off only to compare against the SDK path.
    fast_path: bool = True
    # Keep access decisions for up to 2 s, ended by the authorization epoch (wikibot_shared.verify.decisions).
    decision_cache: bool = True
    # Per-credential limits over limits.DEFAULT_RATE_LIMITS: JSON {"agent_call": [requests, window s], ...}.
    rate_limits_json: str | None = Field(
        None, validation_alias=AliasChoices("MCP_RATE_LIMITS", "rate_limits_json")
    )

    @model_validator(mode="after")
    def _tiers_parse(self) -> McpSettings:
        try:
            load_tiers(self.tiers_json)
        except ConfigError as exc:
            raise ValueError(exc.message) from None
        self.rate_limits  # noqa: B018 - validates MCP_RATE_LIMITS
        return self

    @property
    def tiers(self) -> dict[str, Tier]:
        return load_tiers(self.tiers_json)

    @property
    def rate_limits(self) -> dict[str, tuple[int, int]]:
        return parse_limits(self.rate_limits_json, DEFAULT_RATE_LIMITS, "MCP_RATE_LIMITS")

    @property
    def jwks_url(self) -> str:
        return self.platform_internal_url.rstrip("/") + "/.well-known/jwks.json"
