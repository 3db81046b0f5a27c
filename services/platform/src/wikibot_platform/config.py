"""Platform settings: the shared ones plus ``PLATFORM_*`` (and ``TIERS_JSON``, ``ADMIN_DIDS``)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, model_validator
from pydantic_settings import SettingsConfigDict

from wikibot_shared.config import CommonSettings, json_object
from wikibot_shared.errors import ConfigError
from wikibot_shared.ratelimit import parse_limits
from wikibot_shared.safehttp import Policy, parse_networks
from wikibot_shared.tiers import Tier, load_tiers

PRIVATE_NETWORKS = "10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, fc00::/7"

# Requests per window (seconds), per key; ``PLATFORM_RATE_LIMITS`` (JSON) overrides any of them.
DEFAULT_RATE_LIMITS: dict[str, tuple[int, int]] = {
    "sign_in": (20, 300),  # per client address: /auth/login, /auth/link
    "callback": (30, 300),  # per client address: /auth/callback
    "consent": (30, 300),  # per user: OAuth consent decisions
    "oauth_register": (30, 3600),  # per client address: RFC 7591 dynamic client registration
    "oauth_token": (60, 60),  # per client address and client_id: code exchanges and refreshes
    "wiki_create": (10, 3600),  # per user
    "token_create": (30, 3600),  # per user
    "api_write": (120, 60),  # per user: every unsafe /api and /app request
}


class PlatformSettings(CommonSettings):
    model_config = SettingsConfigDict(env_prefix="PLATFORM_", extra="ignore", populate_by_name=True)

    host: str = "0.0.0.0"  # noqa: S104 - inside its container, behind Caddy
    port: int = 8002
    workers: int = Field(2, ge=1, le=64)
    metrics_port: int = Field(9102, ge=0, le=65535)  # Prometheus, internal network only; 0 = off
    session_ttl: int = Field(7 * 24 * 3600, ge=300)

    # OAuth 2.1 authorization server for MCP clients (docs/oauth.md)
    oauth_code_ttl: int = Field(120, ge=1, le=600)  # RFC 6749 §4.1.2: short-lived, at most 10 minutes
    oauth_access_ttl: int = Field(3600, ge=60, le=24 * 3600)
    oauth_refresh_ttl: int = Field(30 * 24 * 3600, ge=3600)
    oauth_consent_ttl: int = Field(900, ge=60)  # how long a consent page stays answerable
    oauth_cimd_ttl: int = Field(3600, ge=0)  # how long a fetched client metadata document is trusted

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
        return parse_limits(self.rate_limits_json, DEFAULT_RATE_LIMITS, "PLATFORM_RATE_LIMITS")

    @property
    def peer_health_urls(self) -> dict[str, str]:
        data = json_object(self.peer_health_urls_json, "PLATFORM_PEER_HEALTH_URLS")
        if not all(isinstance(v, str) and v.startswith("http") for v in data.values()):
            raise ValueError("PLATFORM_PEER_HEALTH_URLS: values must be http(s) URLs")
        return {str(k): str(v) for k, v in data.items()}

    # -- ATProto sign-in (docs/auth.md) ------------------------------------------------------------------------
    client_name: str = Field("Wikibot", min_length=1, max_length=100)
    plc_url: str = "https://plc.directory"
    handle_resolution: Literal["dns-https", "xrpc"] = "dns-https"
    handle_resolver_url: str | None = (
        None  # for "xrpc": a service answering com.atproto.identity.resolveHandle
    )
    default_handle_suffix: str = "bsky.social"  # "alice" means alice.bsky.social
    dns_nameservers: str = ""  # comma-separated addresses for handle TXT lookups; empty: the system's
    dns_port: int = Field(53, ge=1, le=65535)
    login_ttl: int = Field(600, ge=60, le=3600)  # seconds a started sign-in stays valid
    # The hardened outbound client (wikibot_shared.safehttp). The three "allow" settings widen what it may reach
    # and exist for tests against local servers only: refused in production.
    outbound_ca_bundle: Path | None = None  # extra CAs (PEM) trusted besides the system's
    outbound_timeout: float = Field(10.0, gt=0, le=60)
    outbound_max_bytes: int = Field(1024 * 1024, ge=1024)
    outbound_allow_http: bool = False
    outbound_allow_networks: str = ""  # e.g. "127.0.0.1/32"
    outbound_hosts: str = ""  # e.g. "pds.e2e.internal=127.0.0.1,alice.test=127.0.0.1"
    # Webhooks (docs/webhooks.md): the delivery worker runs in every platform process, one of them leading.
    webhooks_worker: bool = True
    webhooks_concurrency: int = Field(4, ge=1, le=64)  # webhooks sent to at once
    webhooks_give_up_after: int = Field(86400, ge=60)  # seconds of failing before a webhook is disabled
    webhooks_timeout: float = Field(10.0, gt=0, le=30)
    # An intranet install may deliver to private addresses (10/8, 172.16/12, 192.168/16, fc00::/7), over http
    # too (intranet receivers often have no certificate); loopback, link-local and cloud metadata stay refused.
    # Off by default; allowed in production.
    webhooks_allow_private: bool = False

    @model_validator(mode="after")
    def _check_signin(self) -> PlatformSettings:
        try:
            parse_networks(self.outbound_allow_networks)
            hosts = self.hosts_map
        except ValueError as exc:
            raise ValueError(f"PLATFORM_OUTBOUND_ALLOW_NETWORKS / PLATFORM_OUTBOUND_HOSTS: {exc}") from None
        if self.environment == "production":
            for name, value in (
                ("PLATFORM_OUTBOUND_ALLOW_HTTP", self.outbound_allow_http),
                ("PLATFORM_OUTBOUND_ALLOW_NETWORKS", self.outbound_allow_networks.strip()),
                ("PLATFORM_OUTBOUND_HOSTS", hosts),
            ):
                if value:
                    raise ValueError(f"{name}: widens outbound fetches for tests only; refused in production")
        if self.handle_resolution == "xrpc" and not self.handle_resolver_url:
            raise ValueError("PLATFORM_HANDLE_RESOLVER_URL: required when PLATFORM_HANDLE_RESOLUTION is xrpc")
        if self.outbound_ca_bundle is not None and not self.outbound_ca_bundle.is_file():
            raise ValueError(f"PLATFORM_OUTBOUND_CA_BUNDLE: no file at {self.outbound_ca_bundle}")
        return self

    @property
    def hosts_map(self) -> dict[str, str]:
        pairs = [item.strip() for item in self.outbound_hosts.split(",") if item.strip()]
        result = {}
        for pair in pairs:
            name, sep, address = pair.partition("=")
            if not sep or not name.strip() or not address.strip():
                raise ValueError(f"expected name=address, got {pair!r}")
            parse_networks(address)
            result[name.strip().lower()] = address.strip()
        return result

    def webhook_policy(self) -> Policy:
        """The hardened client's rules for webhook deliveries: short timeouts, small answers, and private
        networks only where the operator allows them."""
        private = parse_networks(PRIVATE_NETWORKS) if self.webhooks_allow_private else ()
        return Policy(
            allow_http=self.outbound_allow_http or self.webhooks_allow_private,
            allow_networks=parse_networks(self.outbound_allow_networks) + private,
            hosts=self.hosts_map,
            connect_timeout=min(5.0, self.webhooks_timeout),
            read_timeout=self.webhooks_timeout,
            deadline=self.webhooks_timeout * 1.5,
            max_bytes=64 * 1024,
            ca_bundle=self.outbound_ca_bundle,
        )

    def outbound_policy(self) -> Policy:
        return Policy(
            allow_http=self.outbound_allow_http,
            allow_networks=parse_networks(self.outbound_allow_networks),
            hosts=self.hosts_map,
            connect_timeout=min(5.0, self.outbound_timeout),
            read_timeout=self.outbound_timeout,
            deadline=self.outbound_timeout * 2,
            max_bytes=self.outbound_max_bytes,
            ca_bundle=self.outbound_ca_bundle,
        )
