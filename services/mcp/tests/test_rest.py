"""REST /api/v1 against the real app under uvicorn: every route, every role, preconditions and bad input."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest

from services.mcp.tests.support.servers import ContractEmbedder, running, uvicorn_thread
from services.mcp.tests.support.world import ALICE, BOB, CAROL, DAVE, World, make_world
from wikibot_mcp.main import create_app
from wikibot_shared.db import transaction
from wikibot_shared.keys import KeyStore
from wikibot_shared.models import UserSession
from wikibot_shared.tokens import SESSION_COOKIE, issue_session

HOST = "notes.localhost:8080"
WAIT = 1.0  # MCP_SEARCH_FRESHNESS_WAIT


class Api:
    def __init__(self, world: World, base: str, embedder: ContractEmbedder) -> None:
        self.world, self.base, self.embedder = world, base, embedder
        self.http = httpx.Client(base_url=base, timeout=30)

    def __call__(
        self,
        method: str,
        path: str,
        who: str | None = ALICE,
        *,
        scopes: str = "wiki:read wiki:write",
        host: str = HOST,
        **kw: object,
    ) -> httpx.Response:
        headers = {"Host": host, **kw.pop("headers", {})}  # type: ignore[dict-item]
        if who:
            headers["Authorization"] = f"Bearer {self.world.pat(who, scopes=scopes)}"
        return self.http.request(method, "/api/v1" + path, headers=headers, **kw)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Iterator[Api]:
    tmp = tmp_path_factory.mktemp("rest")
    embedder = ContractEmbedder(tmp / "wikis")
    with running(embedder) as embedder_url:
        world = make_world(tmp, redis_url, embedder_internal_url=embedder_url, search_freshness_wait=WAIT)
        world.add_wiki("open-wiki", public=True)
        with uvicorn_thread(create_app(world.settings)) as base:
            client = Api(world, base, embedder)
            yield client
            client.http.close()


def test_page_lifecycle_with_etags(api: Api) -> None:
    created = api("PUT", "/pages/Rest Page", json={"content": "# Rest\n\none\n"})
    assert created.status_code == 201
    etag = created.headers["etag"]
    got = api("GET", "/pages/Rest Page")
    assert got.status_code == 200
    assert got.headers["etag"] == etag
    assert got.json()["content"] == "# Rest\n\none\n"
    assert api("GET", "/pages/Rest Page", headers={"If-None-Match": etag}).status_code == 304
    raw = api("GET", "/pages/Rest Page", params={"format": "markdown"})
    assert raw.headers["content-type"].startswith("text/markdown")
    assert raw.text == "# Rest\n\none\n"
    missing = api("PUT", "/pages/Rest Page", json={"content": "x"})
    assert missing.status_code == 428
    assert missing.json()["error"] == "precondition_required"
    assert (
        api("PUT", "/pages/Rest Page", json={"content": "x"}, headers={"If-Match": '"deadbeef"'}).status_code
        == 412
    )
    assert (
        api("PUT", "/pages/Rest Page", json={"content": "x"}, headers={"If-None-Match": "*"}).status_code
        == 412
    )
    replaced = api("PUT", "/pages/Rest Page", json={"content": "# Rest\n\ntwo\n"}, headers={"If-Match": etag})
    assert replaced.status_code == 200
    assert replaced.headers["etag"] != etag
    forced = api("PUT", "/pages/Rest Page", json={"content": "# Rest\n\nthree\n"}, headers={"If-Match": "*"})
    assert forced.status_code == 200
    patched = api("PATCH", "/pages/Rest Page", json={"op": "replace", "old_text": "three", "content": "four"})
    assert patched.status_code == 200
    assert (
        api(
            "PATCH", "/pages/Rest Page", json={"op": "append", "content": "x"}, headers={"If-Match": etag}
        ).status_code
        == 412
    )
    renamed = api("POST", "/pages/Rest Page/rename", json={"new_path": "Rest/Moved"})
    assert renamed.status_code == 200
    assert renamed.json()["path"] == "Rest/Moved"
    history = api("GET", "/history/Rest/Moved").json()["history"]
    assert history[0]["message"] == "Rename Rest Page to Rest/Moved"
    old = api("GET", "/pages/Rest/Moved", params={"revision": history[-1]["commit"]})
    assert old.status_code == 404  # it had another name then
    current = api("GET", "/pages/Rest/Moved").json()
    assert "four" in current["content"]
    assert api("DELETE", "/pages/Rest/Moved", headers={"If-Match": '"0000"'}).status_code == 412
    assert (
        api("DELETE", "/pages/Rest/Moved", headers={"If-Match": f'"{current["revision"]}"'}).status_code
        == 200
    )
    assert api("GET", "/pages/Rest/Moved").json()["error"] == "page_not_found"


def test_page_named_like_a_suffix(api: Api) -> None:
    assert api("PUT", "/pages/Odd/rename", json={"content": "a page called rename\n"}).status_code == 201
    assert api("GET", "/pages/Odd/rename").json()["content"] == "a page called rename\n"


def test_queries(api: Api) -> None:
    api("PUT", "/pages/Q/One", json={"content": "---\ntags: [q]\n---\n[[Q/Two]]\n"})
    api("PUT", "/pages/Q/Two", json={"content": "two\n"})
    listed = api("GET", "/pages", params={"prefix": "Q/", "tag": "q"}).json()
    assert [p["path"] for p in listed["pages"]] == ["Q/One"]
    assert api("GET", "/links/Q/Two").json()["linked_from"] == ["Q/One"]
    assert "Q/One" in api("GET", "/orphans").json()["orphans"]
    changes = api("GET", "/changes", params={"limit": 1}).json()["changes"]
    assert changes[0]["pages"] == [{"path": "Q/Two", "change": "created"}]
    found = api("GET", "/search", params={"q": "two", "mode": "fulltext"}).json()
    assert found["results"]
    assert found["mode"] == "fulltext"
    since = api("GET", "/changes", params={"since": datetime.now(UTC).replace(year=2999).isoformat()}).json()
    assert since["changes"] == []


def test_search_filters_and_freshness(api: Api) -> None:
    ops = "---\ntags: [ops]\ncategories: [runbook]\n---\nrhubarb crumble\n"
    api("PUT", "/pages/Find/Ops", json={"content": ops})
    api("PUT", "/pages/Find/Dev", json={"content": "---\ntags: [dev]\n---\nrhubarb pie\n"})

    def found(**params: str) -> set[str]:
        response = api("GET", "/search", params={"q": "rhubarb", "mode": "fulltext", **params})
        assert response.status_code == 200, response.text
        return {r["path"] for r in response.json()["results"]}

    assert found() == {"Find/Ops", "Find/Dev"}
    assert found(prefix="Find/", tag="ops") == {"Find/Ops"}
    assert found(category="Runbook") == {"Find/Ops"}
    assert found(prefix="Find/D") == {"Find/Dev"}
    assert found(updated_since="2999-01-01") == set()
    assert found(updated_since="2000-01-01T00:00:00Z") == {"Find/Ops", "Find/Dev"}
    held = api.embedder.hold("notes")
    try:
        written = api("PUT", "/pages/Find/New", json={"content": "rhubarb jam\n"}).json()
        late = api("GET", "/search", params={"q": "jam", "min_commit": written["commit"]}).json()
        assert (late["fresh"], late["behind_commits"], late["indexed_commit"]) == (False, 1, held)
        assert late["min_commit"] == written["commit"]
        assert late["results"] == []
        assert "still catching up" in late["message"]
    finally:
        api.embedder.release("notes")
    fresh = api("GET", "/search", params={"q": "jam", "min_commit": written["commit"][:8]}).json()
    assert (fresh["fresh"], fresh["behind_commits"], fresh["message"]) == (True, 0, None)
    assert [r["path"] for r in fresh["results"]] == ["Find/New"]


def test_attachments(api: Api) -> None:
    api("PUT", "/pages/Att", json={"content": "a\n"})
    up = api("PUT", "/attachments/Att/pic.png", content=b"\x89PNG\r\n")
    assert up.status_code == 201
    assert api("PUT", "/attachments/Att/pic.png", content=b"x").status_code == 409
    assert (
        api("PUT", "/attachments/Att/pic.png", content=b"y", params={"overwrite": "true"}).status_code == 201
    )
    listed = api("GET", "/attachments", params={"page": "Att"}).json()["attachments"]
    assert listed[0]["filename"] == "pic.png"
    assert listed[0]["content_type"] == "image/png"
    down = api("GET", "/attachments/Att/pic.png")
    assert down.content == b"y"
    assert down.headers["content-type"] == "image/png"
    assert down.headers["x-content-type-options"] == "nosniff"
    assert api("DELETE", "/attachments/Att/pic.png").status_code == 200
    assert api("GET", "/attachments/Att/pic.png").status_code == 404
    api.world.set_wiki("notes", tier="tiny")
    try:
        big = api("PUT", "/attachments/Att/big.bin", content=b"x" * 1001)
        assert big.status_code == 413
        assert big.json()["error"] == "attachment_too_large"
    finally:
        api.world.set_wiki("notes", tier="free")


def test_roles(api: Api) -> None:
    assert api("PUT", "/pages/By Bob", BOB, json={"content": "b\n"}).status_code == 201
    assert api("GET", "/pages/By Bob", CAROL).status_code == 200
    viewer = api("PUT", "/pages/By Carol", CAROL, json={"content": "c\n"})
    assert viewer.status_code == 403
    assert viewer.json()["error"] == "role_forbids"
    assert api("DELETE", "/pages/By Bob", CAROL).status_code == 403
    stranger = api("GET", "/pages/Home", DAVE)
    assert stranger.status_code == 403
    assert stranger.json()["error"] == "no_access"
    anon = api("GET", "/pages/Home", None)
    assert anon.status_code == 401
    assert anon.headers["www-authenticate"].startswith("Bearer resource_metadata=")
    scoped = api("PUT", "/pages/Scoped", scopes="wiki:read", json={"content": "x"})
    assert scoped.status_code == 403
    assert scoped.json()["error"] == "insufficient_scope"
    assert 'scope="wiki:write"' in scoped.headers["www-authenticate"]
    assert api("GET", "/pages/Home", scopes="wiki:read").status_code == 200
    public = api("GET", "/pages/Home", None, host="open-wiki.localhost:8080")
    assert public.status_code == 200
    assert (
        api("PUT", "/pages/X", None, host="open-wiki.localhost:8080", json={"content": "x"}).status_code
        == 401
    )
    wrong_wiki = api("GET", "/pages/Home", host="other.localhost:8080")
    assert wrong_wiki.status_code == 401
    assert "another wiki" in wrong_wiki.json()["message"]
    api.world.set_wiki("notes", payment_status="lapsed")
    try:
        lapsed = api("PUT", "/pages/Late", json={"content": "x"})
        assert lapsed.status_code == 403
        assert lapsed.json()["error"] == "wiki_read_only"
        assert api("GET", "/pages/Home").status_code == 200
    finally:
        api.world.set_wiki("notes", payment_status="active")


def test_session_cookie_and_csrf(api: Api) -> None:
    keys = KeyStore(api.world.settings.keys_dir)
    keys.ensure()
    with transaction(api.world.db) as db:
        db.add(UserSession(id="sess-1", did=BOB, method="admin"))
    settings = api.world.settings
    token = issue_session(
        keys.current().key,
        issuer=settings.issuer,
        audience=settings.session_audience,
        did=BOB,
        sid="sess-1",
        ttl=600,
    )
    from services.mcp.tests.support.servers import JwksServer

    jwks = JwksServer(keys.jwks())
    with running(jwks) as jwks_url:
        app_settings = settings.model_copy(update={"platform_internal_url": jwks_url})
        with uvicorn_thread(create_app(app_settings)) as base:
            http = httpx.Client(base_url=base, cookies={SESSION_COOKIE: token}, headers={"Host": HOST})
            try:
                _cookie_checks(http)
            finally:
                http.close()


def _cookie_checks(http: httpx.Client) -> None:
    assert http.get("/api/v1/pages/Home").status_code == 200
    csrf = http.put("/api/v1/pages/Cookie", json={"content": "x"})
    assert csrf.status_code == 403
    assert csrf.json()["error"] == "csrf"
    evil = http.put("/api/v1/pages/Cookie", json={"content": "x"}, headers={"Origin": "http://evil.example"})
    assert evil.status_code == 403
    same = http.put(
        "/api/v1/pages/Cookie",
        json={"content": "x"},
        headers={"Origin": "http://notes.localhost:8080"},
    )
    assert same.status_code == 201
    mcp = http.post(
        "/mcp",
        json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
        headers={"Accept": "application/json, text/event-stream"},
    )
    assert mcp.status_code == 401  # cookies are not credentials for MCP


def test_bad_input(api: Api) -> None:
    for method, path, kw, status, code in [
        ("GET", "/pages/..%2Fsecret", {}, 400, "invalid_path"),
        ("GET", "/pages/a%00b", {}, 400, "invalid_path"),
        ("PUT", "/pages/Bad", {"json": {"nope": 1}}, 422, "invalid_request"),
        (
            "PUT",
            "/pages/Bad",
            {"content": b"not json", "headers": {"Content-Type": "application/json"}},
            422,
            "invalid_request",
        ),
        ("PATCH", "/pages/Home", {"json": {"op": "explode"}}, 422, "invalid_request"),
        ("PATCH", "/pages/Home", {"json": {"op": "replace_section", "content": "x"}}, 400, "invalid_edit"),
        ("GET", "/pages", {"params": {"limit": 0}}, 422, "invalid_request"),
        ("GET", "/pages", {"params": {"updated_since": "soon"}}, 400, "invalid_time"),
        ("GET", "/search", {}, 422, "invalid_request"),
        ("GET", "/search", {"params": {"q": "x", "updated_since": "soon"}}, 400, "invalid_time"),
        ("GET", "/search", {"params": {"q": "x", "prefix": "../up"}}, 400, "invalid_path"),
        ("GET", "/search", {"params": {"q": "x", "tag": "a\x01"}}, 400, "invalid_filter"),
        ("GET", "/search", {"params": {"q": "x", "min_commit": "not-hex"}}, 400, "unknown_commit"),
        ("GET", "/search", {"params": {"q": "x", "min_commit": "0" * 40}}, 400, "unknown_commit"),
        ("GET", "/pages/Home", {"params": {"revision": "-x"}}, 404, "revision_not_found"),
        ("POST", "/pages/Home/rename", {"json": {"new_path": "/abs"}}, 400, "invalid_path"),
        ("PUT", "/attachments/Home/x.md", {"content": b"x"}, 400, "invalid_path"),
        ("GET", "/nope", {}, 404, "not_found"),
    ]:
        response = api(method, path, **kw)
        assert response.status_code == status, (method, path, response.text)
        assert response.json()["error"] == code, (method, path, response.text)
        assert "Traceback" not in response.text
    huge = api("PUT", "/pages/Huge", json={"content": "x" * (api.world.settings.max_page_bytes + 1)})
    assert huge.status_code == 413
    assert huge.json()["error"] == "page_too_large"


def test_openapi_documents_routes(api: Api) -> None:
    spec = api.http.get("/api/v1/openapi.json").json()
    paths = set(spec["paths"])
    for route in [
        "/api/v1/pages",
        "/api/v1/pages/{path}",
        "/api/v1/pages/{path}/rename",
        "/api/v1/history/{path}",
        "/api/v1/changes",
        "/api/v1/links/{path}",
        "/api/v1/search",
        "/api/v1/attachments",
        "/api/v1/attachments/{path}/{filename}",
        "/api/v1/orphans",
    ]:
        assert route in paths, route
    assert not any(p.startswith("/mcp") or p.startswith("/repo.git") for p in paths)
    search = {p["name"]: p for p in spec["paths"]["/api/v1/search"]["get"]["parameters"]}
    for name in ("q", "mode", "k", "max_chunks_per_page", "prefix", "tag", "category", "updated_since"):
        assert search[name]["in"] == "query"
        assert search[name].get("description"), name
    assert "`commit` a write returned" in search["min_commit"]["description"]
    assert "fresh" in spec["paths"]["/api/v1/search"]["get"]["description"]


def test_patch_sets_front_matter(api: Api) -> None:
    body = "# FM\n\n```\n---\n```\n\ntrailing  \nno final newline"
    created = api("PUT", "/pages/FM Page", json={"content": "---\ntitle: FM\n---\n" + body})
    etag = created.headers["etag"]
    patched = api(
        "PATCH",
        "/pages/FM Page",
        json={"op": "set_front_matter", "front_matter": {"tags": ["rest", "yaml"], "title": None}},
        headers={"If-Match": etag},
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["changed"] is True
    assert patched.headers["etag"] != etag
    page = api("GET", "/pages/FM Page").json()
    assert page["content"] == "---\ntags: [rest, yaml]\n---\n" + body
    assert page["tags"] == ["rest", "yaml"]
    assert [p["path"] for p in api("GET", "/pages", params={"tag": "yaml"}).json()["pages"]] == ["FM Page"]
    same = api(
        "PATCH", "/pages/FM Page", json={"op": "set_front_matter", "front_matter": {"tags": ["rest", "yaml"]}}
    )
    assert same.json()["changed"] is False
    assert same.headers["etag"] == patched.headers["etag"]
    stale = api(
        "PATCH",
        "/pages/FM Page",
        json={"op": "set_front_matter", "front_matter": {"a": 1}},
        headers={"If-Match": etag},
    )
    assert stale.status_code == 412
    for front_matter, message in [
        (None, "needs 'front_matter'"),
        ({"tags": {"a": 1}}, "'tags' is a list of strings"),
        ({"": 1}, "must not be empty"),
    ]:
        refused = api(
            "PATCH", "/pages/FM Page", json={"op": "set_front_matter", "front_matter": front_matter}
        )
        assert refused.status_code == 400, refused.text
        assert refused.json()["error"] == "invalid_edit"
        assert message in refused.json()["message"]
    schema = api.http.get("/api/v1/openapi.json").json()["components"]["schemas"]["PageEdit"]
    assert "set_front_matter" in str(schema["properties"]["op"])
    assert "front_matter" in schema["properties"]


def test_an_empty_if_match_is_a_clear_400_not_a_500(api: Api) -> None:
    """Found by schemathesis (tests/schemas): ``If-Match:`` sent empty crashed every write with a 500."""
    api("PUT", "/pages/Empty Match", json={"content": "# Empty\n"})
    for method, path, body in (
        ("PUT", "/pages/Empty Match", {"json": {"content": "# Changed\n"}}),
        ("PATCH", "/pages/Empty Match", {"json": {"op": "append", "content": "x"}}),
        ("DELETE", "/pages/Empty Match", {}),
        ("POST", "/pages/Empty Match/rename", {"json": {"new_path": "Moved"}}),
    ):
        answer = api(method, path, headers={"If-Match": ""}, **body)
        assert answer.status_code == 400, (method, answer.text)
        assert answer.json()["error"] == "invalid_if_match"
        assert "ETag" in answer.json()["message"]
    assert api("GET", "/pages/Empty Match").json()["content"] == "# Empty\n"  # nothing written
