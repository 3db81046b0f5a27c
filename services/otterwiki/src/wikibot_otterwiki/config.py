"""otterwiki settings: the shared ones plus ``OTTERWIKI_*`` (and ``TIERS_JSON``, shared with every writer)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import SettingsConfigDict

from wikibot_shared.config import CommonSettings


class OtterwikiSettings(CommonSettings):
    model_config = SettingsConfigDict(env_prefix="OTTERWIKI_", extra="ignore", populate_by_name=True)
    secret_fields: ClassVar[tuple[str, ...]] = ("secret_key",)

    host: str = "0.0.0.0"  # noqa: S104 - inside its container, behind Caddy
    port: int = 8000
    workers: int = Field(3, ge=1, le=64)
    metrics_port: int = Field(9100, ge=0, le=65535)  # Prometheus, internal network only; 0 = off
    # Per-wiki state (repository handle, settings database, preferences) kept per worker process.
    cache_wikis: int = Field(32, ge=1, le=4096)
    # Signs Otterwiki's own cookie (CSRF tokens, notices); per-wiki keys are derived from it. Unset: a random
    # key is created once on the data volume and shared by every worker and replica.
    secret_key: SecretStr | None = None
    tiers_json: str | None = Field(None, validation_alias=AliasChoices("TIERS_JSON"))

    @property
    def jwks_url(self) -> str:
        return self.platform_internal_url.rstrip("/") + "/.well-known/jwks.json"

    @property
    def service_dir(self) -> Path:
        """This service's own files on the data volume (its secret key)."""
        return self.data_dir / "otterwiki"
