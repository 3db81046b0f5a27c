from __future__ import annotations

import pytest

from wikibot_otterwiki import roles
from wikibot_shared.acl import WikiAccess
from wikibot_shared.models import Role
from wikibot_shared.verify import ANONYMOUS, Principal


def access(role: Role | None, *, lapsed: bool = False, public: bool = False) -> WikiAccess:
    return WikiAccess("notes", "did:plc:o", "Notes", public, lapsed, "free", role)


@pytest.mark.parametrize(
    ("role", "lapsed", "expected"),
    [
        (Role.OWNER, False, "READ,WRITE,UPLOAD,ADMIN"),
        (Role.EDITOR, False, "READ,WRITE,UPLOAD"),
        (Role.VIEWER, False, "READ"),
        (None, False, "READ"),
        (Role.OWNER, True, "READ,ADMIN"),
        (Role.EDITOR, True, "READ"),
    ],
)
def test_role_to_permissions(role: Role | None, lapsed: bool, expected: str) -> None:
    environ: dict[str, str] = {}
    principal = Principal(did="did:plc:x", method="session", handle="x.test")
    # a visitor without a role reaches Otterwiki only on a public wiki (the middleware refuses the rest)
    roles.set_identity(environ, principal, access(role, lapsed=lapsed, public=role is None))
    assert environ[roles.PERMISSIONS] == expected
    assert environ[roles.NAME] == "x.test"
    assert environ[roles.EMAIL] == "did:plc:x@did.invalid"


def test_permissions_are_what_acl_allows_and_nothing_more() -> None:
    assert roles.permissions(access(None)) == ()  # a stranger on a private wiki: never passed to Otterwiki
    assert roles.permissions(access(Role.VIEWER, lapsed=True, public=True)) == ("READ",)


def test_anonymous_visitors_carry_no_identity() -> None:
    environ: dict[str, str] = {}
    roles.set_identity(environ, ANONYMOUS, access(None, public=True))
    assert environ == {roles.PERMISSIONS: "READ"}


def test_every_client_sent_otterwiki_header_is_removed() -> None:
    environ = {
        "HTTP_X_OTTERWIKI_NAME": "a",
        "HTTP_X_OTTERWIKI_EMAIL": "b",
        "HTTP_X_OTTERWIKI_PERMISSIONS": "ADMIN",
        "HTTP_X_OTTERWIKI_ANYTHING_ELSE": "c",
        "HTTP_X_OTHER": "kept",
    }
    assert sorted(roles.strip_client_headers(environ)) == [
        "HTTP_X_OTTERWIKI_ANYTHING_ELSE",
        "HTTP_X_OTTERWIKI_EMAIL",
        "HTTP_X_OTTERWIKI_NAME",
        "HTTP_X_OTTERWIKI_PERMISSIONS",
    ]
    assert environ == {"HTTP_X_OTHER": "kept"}
