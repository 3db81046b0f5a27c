import pytest

from wikibot_platform.atproto.errors import IdentityError
from wikibot_platform.atproto.identity import (
    Identifier,
    is_did,
    is_handle,
    parse_did_document,
    parse_identifier,
)

DID = "did:plc:" + "a" * 24


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("alice.bsky.social", Identifier("handle", "alice.bsky.social")),
        ("  @Alice.Bsky.Social ", Identifier("handle", "alice.bsky.social")),
        ("alice", Identifier("handle", "alice.bsky.social")),
        ("at://alice.example.com", Identifier("handle", "alice.example.com")),
        ("alice.example.com.", Identifier("handle", "alice.example.com")),
        (DID, Identifier("did", DID)),
        ("did:web:example.com", Identifier("did", "did:web:example.com")),
        ("did:web:localhost%3A8443", Identifier("did", "did:web:localhost%3A8443")),
        ("https://PDS.Example.com/", Identifier("url", "https://pds.example.com")),
        ("https://pds.example.com:8443", Identifier("url", "https://pds.example.com:8443")),
    ],
)
def test_what_people_type(typed: str, expected: Identifier) -> None:
    assert parse_identifier(typed, "bsky.social") == expected


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "  ",
        "alice bob",
        "-alice.example.com",
        "alice.123",
        "did:plc:short",
        "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
        "did:web:example.com/path",
        "https://user:pw@pds.example.com",
        "https://pds.example.com/?q=1",
        "https://pds.example.com/#frag",
        "x" * 3000,
    ],
)
def test_malformed_identifiers(typed: str) -> None:
    with pytest.raises(IdentityError):
        parse_identifier(typed, "bsky.social")


def test_syntax_helpers() -> None:
    assert is_handle("a.b")
    assert not is_handle("a." + "b" * 64)
    assert not is_handle("a" * 250 + ".com")
    assert is_did(DID)
    assert not is_did(DID.upper())


def _doc(**kw: object) -> dict[str, object]:
    doc: dict[str, object] = {
        "id": DID,
        "alsoKnownAs": ["at://Alice.Example.com"],
        "service": [
            {
                "id": "#atproto_pds",
                "type": "AtprotoPersonalDataServer",
                "serviceEndpoint": "https://pds.example.com",
            }
        ],
    }
    doc.update(kw)
    return doc


def test_did_document_parsing() -> None:
    parsed = parse_did_document(DID, _doc(), allow_http=False)
    assert (parsed.handle, parsed.pds_url) == ("alice.example.com", "https://pds.example.com")
    full_id = _doc(
        service=[
            {
                "id": f"{DID}#atproto_pds",
                "type": "AtprotoPersonalDataServer",
                "serviceEndpoint": "https://pds.example.com/",
            }
        ]
    )
    assert parse_did_document(DID, full_id, allow_http=False).pds_url == "https://pds.example.com"


@pytest.mark.parametrize(
    "service",
    [
        [],
        [{"id": "#other", "type": "AtprotoPersonalDataServer", "serviceEndpoint": "https://pds.example.com"}],
        [{"id": "#atproto_pds", "type": "Other", "serviceEndpoint": "https://pds.example.com"}],
        [
            {
                "id": "#atproto_pds",
                "type": "AtprotoPersonalDataServer",
                "serviceEndpoint": "http://pds.example.com",
            }
        ],
        [
            {
                "id": "#atproto_pds",
                "type": "AtprotoPersonalDataServer",
                "serviceEndpoint": "https://pds.example.com/x",
            }
        ],
        [
            {
                "id": "#atproto_pds",
                "type": "AtprotoPersonalDataServer",
                "serviceEndpoint": {"uri": "https://p.example"},
            }
        ],
        # a port out of range (was accepted) and an unclosed IPv6 bracket (escaped as ValueError)
        [
            {
                "id": "#atproto_pds",
                "type": "AtprotoPersonalDataServer",
                "serviceEndpoint": "https://p.example:99999",
            }
        ],
        [
            {
                "id": "#atproto_pds",
                "type": "AtprotoPersonalDataServer",
                "serviceEndpoint": "https://[p.example",
            }
        ],
        "not-a-list",
    ],
)
def test_did_document_without_a_usable_pds(service: object) -> None:
    assert parse_did_document(DID, _doc(service=service), allow_http=False).pds_url is None


def test_did_document_must_describe_the_did() -> None:
    with pytest.raises(IdentityError, match="does not describe"):
        parse_did_document(DID, _doc(id="did:plc:" + "b" * 24), allow_http=False)
    with pytest.raises(IdentityError):
        parse_did_document(DID, ["not", "an", "object"], allow_http=False)


def test_did_document_with_a_bad_handle_has_none() -> None:
    assert parse_did_document(DID, _doc(alsoKnownAs=["at://not a handle"]), allow_http=False).handle is None
    assert parse_did_document(DID, _doc(alsoKnownAs=[]), allow_http=False).handle is None
