"""Debian's Chromium for the browser tests (Playwright drives it; no browser download): where it is and how
every test launches it."""

from __future__ import annotations

from pathlib import Path

CHROMIUM = "/usr/bin/chromium"


def chromium_path() -> str:
    """The binary, or a clear failure: a browser test never silently skips (`scripts/bootstrap.sh` installs it)."""
    if not Path(CHROMIUM).exists():
        raise RuntimeError(f"Debian's chromium is needed at {CHROMIUM} (apt-get install chromium)")
    return CHROMIUM


def chromium_args(*host_resolver_rules: str) -> list[str]:
    """Headless in a container as root; no background traffic; host names mapped to this machine's loopback."""
    args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
    if host_resolver_rules:
        args.append("--host-resolver-rules=" + ", ".join(host_resolver_rules))
    return args
