"""From the live role to the ``x-otterwiki-*`` headers Otterwiki's proxy-header auth reads.

    owner            READ WRITE UPLOAD ADMIN
    editor           READ WRITE UPLOAD
    viewer, public   READ
    lapsed wiki      write and upload dropped (the owner keeps ADMIN for the wiki's look)

Whatever a client sends under ``x-otterwiki-*`` is removed before these are set: in WSGI every request header
``X-Otterwiki-Foo`` (or ``X_Otterwiki_Foo``) arrives as ``HTTP_X_OTTERWIKI_FOO``.
"""

from __future__ import annotations

from typing import Any

from wikibot_shared.acl import Action, WikiAccess
from wikibot_shared.storage import Author
from wikibot_shared.verify import Principal

CLIENT_PREFIX = "HTTP_X_OTTERWIKI_"
NAME = "HTTP_X_OTTERWIKI_NAME"
EMAIL = "HTTP_X_OTTERWIKI_EMAIL"
PERMISSIONS = "HTTP_X_OTTERWIKI_PERMISSIONS"


def permissions(access: WikiAccess) -> tuple[str, ...]:
    """Otterwiki's permission names for what ``acl`` allows (the one role table is ``acl.ALLOWED``)."""
    return (
        *(("READ",) if access.can(Action.READ) else ()),
        *(("WRITE", "UPLOAD") if access.writable else ()),
        *(("ADMIN",) if access.can(Action.MANAGE) else ()),
    )


def strip_client_headers(environ: dict[str, Any]) -> list[str]:
    """Remove every client-sent ``x-otterwiki-*`` header; returns what was removed (for the log)."""
    removed = [key for key in environ if key.startswith(CLIENT_PREFIX)]
    for key in removed:
        del environ[key]
    return removed


def set_identity(environ: dict[str, Any], principal: Principal, access: WikiAccess) -> None:
    environ[PERMISSIONS] = ",".join(permissions(access))
    if principal.did is not None:
        author = Author.for_did(principal.did, principal.handle)
        environ[NAME] = author.name
        environ[EMAIL] = author.email
