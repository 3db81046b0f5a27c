"""``wikibot-admin``: operator commands, run inside the platform container."""

from __future__ import annotations

import typer

from wikibot_shared.config import settings_or_exit
from wikibot_shared.keys import KeyStore

from .config import PlatformSettings

app = typer.Typer(help="Wikibot administration.", no_args_is_help=True)


@app.callback()
def main() -> None:
    """Wikibot administration (run inside the platform container)."""


@app.command("rotate-keys")
def rotate_keys(kind: str = typer.Option("signing", help="signing or client")) -> None:
    """Make a new signing key current; the old public key stays in the JWKS until its tokens expire."""
    settings = settings_or_exit(PlatformSettings)
    stored = KeyStore(settings.keys_dir).rotate(kind)
    typer.echo(f"new {kind} key {stored.kid}")
