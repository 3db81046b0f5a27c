"""From the live role to the ``x-otterwiki-*`` headers Otterwiki's proxy-header auth reads.

    owner            READ WRITE UPLOAD ADMIN
    editor           READ WRITE UPLOAD
    viewer, public   READ
    lapsed wiki      write and upload dropped (the owner keeps ADMIN for the wiki's look)
    a page outside   write and upload dropped on that page's routes (an editor limited to some folders)

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


def permissions(access: WikiAccess, here_outside: bool = False) -> tuple[str, ...]:
    """Otterwiki's permission names for what ``acl`` allows (the one role table is ``acl.ALLOWED``); on a page
    outside where the visitor may write (path rules), no WRITE or UPLOAD, so Otterwiki offers no editing there."""
    return (
        *(("READ",) if access.can(Action.READ) else ()),
        *(("WRITE", "UPLOAD") if access.writable and not here_outside else ()),
        *(("ADMIN",) if access.can(Action.MANAGE) else ()),
    )


def strip_client_headers(environ: dict[str, Any]) -> list[str]:
    """Remove every client-sent ``x-otterwiki-*`` header; returns what was removed (for the log)."""
    removed = [key for key in environ if key.startswith(CLIENT_PREFIX)]
    for key in removed:
        del environ[key]
    return removed


def set_identity(
    environ: dict[str, Any], principal: Principal, access: WikiAccess, here_outside: bool = False
) -> None:
    environ[PERMISSIONS] = ",".join(permissions(access, here_outside))
    if principal.did is not None:
        author = Author.for_did(principal.did, principal.handle)
        environ[NAME] = author.name
        environ[EMAIL] = author.email
