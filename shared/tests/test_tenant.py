import pytest

from wikibot_shared.errors import InputError, InvalidHost, NotFound
from wikibot_shared.tenant import RESERVED, slug_problem, tenant_from_host, validate_slug

D = "wiki.example.org"


@pytest.mark.parametrize(
    "host", ["wiki.example.org", "WIKI.example.org", "wiki.example.org:8443", "wiki.example.org."]
)
def test_platform_host(host: str) -> None:
    assert tenant_from_host(host, D).is_platform


@pytest.mark.parametrize(
    ("host", "slug"), [("notes.wiki.example.org", "notes"), ("Team-1.wiki.example.org:80", "team-1")]
)
def test_wiki_host(host: str, slug: str) -> None:
    tenant = tenant_from_host(host, D)
    assert tenant.slug == slug
    assert not tenant.is_platform


@pytest.mark.parametrize("name", ["www", "api", "auth", "mcp", "app"])
def test_reserved_names_are_not_wikis(name: str) -> None:
    assert name in RESERVED
    with pytest.raises(NotFound, match="is not a wiki"):
        tenant_from_host(f"{name}.{D}", D)


@pytest.mark.parametrize(
    "host",
    [
        None,
        "",
        "evil.com",
        "notes.wiki.example.org.evil.com",
        "a.b.wiki.example.org",
        "no spaces.wiki.example.org",
        "x" * 300,
        "notes.wiki.example.org:99999999",
        "notes_x.wiki.example.org",
        "wiki.example.org\r\nX: y",
    ],
)
def test_invalid_hosts_rejected(host: str | None) -> None:
    with pytest.raises(InvalidHost):
        tenant_from_host(host, D)


@pytest.mark.parametrize("label", ["ab", "-ab", "ab-", "1abc", "a--b"])
def test_labels_that_cannot_be_slugs_are_unknown_wikis(label: str) -> None:
    with pytest.raises(NotFound):
        tenant_from_host(f"{label}.{D}", D)


def test_slug_rules() -> None:
    assert validate_slug("my-notes") == "my-notes"
    assert slug_problem("a" * 63) is None
    assert slug_problem("a" * 64) is not None
    for bad in ["My", "ab", "a_b", "api", "x--y", "ends-"]:
        with pytest.raises(InputError):
            validate_slug(bad)
