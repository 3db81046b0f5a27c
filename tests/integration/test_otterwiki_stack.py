"""The wiki UI in the real stack: a wiki the platform creates is served at once through Caddy, a session minted by
the platform opens a private wiki (directly and through the one-time handoff), and a save through the UI lands
in the repository on the data volume, with a change notice for the embedder and the wiki's size recorded."""

from __future__ import annotations

import json
import re
import textwrap
from urllib.parse import parse_qs, quote, urlsplit

import pytest

from tests.integration.stack import Stack

HTML = {"Accept": "text/html"}


def _platform(stack: Stack, code: str) -> str:
    """Run Python inside the platform container (its settings, database, keys and Redis); returns stdout."""
    prelude = textwrap.dedent(
        """
        import json, uuid
        from wikibot_shared.config import CommonSettings
        from wikibot_shared.db import make_engine, make_session_factory
        from wikibot_shared.keys import KeyStore
        from wikibot_shared.models import User, Wiki, UserSession
        from wikibot_shared.queue import redis_client, STREAM
        from wikibot_shared.storage import Author, init_repo
        from wikibot_shared.tokens import issue_session
        from wikibot_shared.handoff import create_handoff
        settings = CommonSettings()
        db = make_session_factory(make_engine(settings.database_url))()
        """
    )
    return stack.exec("platform", "python", "-c", prelude + textwrap.dedent(code)).stdout.strip()


def _create_wiki(stack: Stack, slug: str, owner: str, *, public: bool, body: str) -> None:
    _platform(
        stack,
        f"""
        did = "did:plc:{owner}"
        if db.get(User, did) is None:
            db.add(User(did=did, handle="{owner}.test", username="{owner}"))
            db.flush()
        db.add(Wiki(slug="{slug}", owner_did=did, display_name="{slug.title()} Wiki", is_public={public}))
        db.commit()
        init_repo(settings.wikis_dir, "{slug}", {{"Home.md": "# Home\\n\\n{body}\\n"}},
                  Author.for_did(did, "{owner}.test"), "Create wiki")
        """,
    )


def _session(stack: Stack, owner: str) -> str:
    return _platform(
        stack,
        f"""
        sid = uuid.uuid4().hex
        db.add(UserSession(id=sid, did="did:plc:{owner}", method="admin"))
        db.commit()
        key = KeyStore(settings.keys_dir).current().key
        print(issue_session(key, issuer=settings.issuer, audience=settings.session_audience,
                            did="did:plc:{owner}", sid=sid, ttl=3600))
        """,
    )


@pytest.fixture(scope="module")
def wikis(stack: Stack) -> Stack:
    _create_wiki(stack, "stackpub", "sal", public=True, body="hello from a public wiki")
    _create_wiki(stack, "stackpriv", "sal", public=False, body="private stack words")
    return stack


def test_a_new_wiki_is_browsable_through_caddy_at_once(wikis: Stack) -> None:
    response = wikis.get("/Home", slug="stackpub", headers=HTML)
    assert response.status_code == 200, response.text[:300]
    assert response.headers["x-wikibot-service"] == "otterwiki"
    assert "hello from a public wiki" in response.text
    assert "Stackpub Wiki" in response.text
    assert wikis.get("/", slug="stackpub", headers=HTML).status_code == 200
    css = wikis.get("/static/css/otterwiki.css", slug="stackpub")
    assert css.status_code == 200
    assert "text/css" in css.headers["content-type"]


def test_a_private_wiki_sends_visitors_to_the_platforms_sign_in(wikis: Stack) -> None:
    response = wikis.get("/Home", slug="stackpriv", headers=HTML)
    assert response.status_code == 302
    location = urlsplit(response.headers["location"])
    assert (
        f"{location.scheme}://{location.netloc}{location.path}" == f"http://localhost:{wikis.port}/auth/login"
    )
    assert parse_qs(location.query)["return_to"] == [f"http://stackpriv.localhost:{wikis.port}/Home"]
    assert "private stack words" not in response.text


def test_a_platform_session_opens_the_private_wiki(wikis: Stack) -> None:
    token = _session(wikis, "sal")
    response = wikis.get("/Home", slug="stackpriv", headers={**HTML, "Cookie": f"wikibot_session={token}"})
    assert response.status_code == 200, response.text[:300]
    assert "private stack words" in response.text
    assert "private" in response.headers["cache-control"]
    _create_wiki(
        wikis, "strangers", "stranger", public=False, body="x"
    )  # a real user, with a wiki of their own
    stranger = _session(wikis, "stranger")
    refused = wikis.get("/Home", slug="stackpriv", headers={**HTML, "Cookie": f"wikibot_session={stranger}"})
    assert refused.status_code == 403
    assert "This wiki is not yours" in refused.text
    assert "private stack words" not in refused.text


def test_the_session_handoff_sets_the_wiki_hosts_cookie(wikis: Stack) -> None:
    token = _session(wikis, "sal")
    code = _platform(
        wikis,
        f"""
        print(create_handoff(redis_client(settings.redis_url), token={token!r}, slug="stackpriv", path="/Home"))
        """,
    )
    landing = wikis.get(f"/-/session?code={quote(code)}", slug="stackpriv", headers=HTML)
    assert landing.status_code == 302
    assert landing.headers["location"] == "/Home"
    cookie = landing.headers["set-cookie"]
    assert cookie.startswith(f"wikibot_session={token};")
    assert "HttpOnly" in cookie
    assert "Domain" not in cookie
    page = wikis.get("/Home", slug="stackpriv", headers={**HTML, "Cookie": f"wikibot_session={token}"})
    assert "private stack words" in page.text
    assert wikis.get(f"/-/session?code={quote(code)}", slug="stackpriv", headers=HTML).status_code == 401


def test_a_save_through_the_ui_is_a_commit_a_notice_and_a_new_size(wikis: Stack) -> None:
    token = _session(wikis, "sal")
    editor = wikis.get("/Home?edit", slug="stackpriv", headers={**HTML, "Cookie": f"wikibot_session={token}"})
    assert editor.status_code == 200
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', editor.text)
    assert csrf is not None
    ui_cookie = editor.headers["set-cookie"].split(";")[0]
    saved = wikis.request(
        "POST",
        "/Stack Notes/save",
        slug="stackpriv",
        headers={**HTML, "Cookie": f"wikibot_session={token}; {ui_cookie}"},
        data={
            "content": "# Stack Notes\n\nwritten through caddy\n",
            "commit": "from the UI",
            "csrf_token": csrf.group(1),
        },
    )
    assert saved.status_code == 302, saved.text[:300]
    log = wikis.exec(
        "otterwiki", "git", "-C", "/data/wikis/stackpriv/repo", "log", "-1", "--format=%an <%ae>|%s"
    )
    assert log.stdout.strip() == "sal.test <did:plc:sal@did.invalid>|from the UI"
    head = wikis.exec(
        "otterwiki", "git", "-C", "/data/wikis/stackpriv/repo", "rev-parse", "HEAD"
    ).stdout.strip()
    found = json.loads(
        _platform(
            wikis,
            """
            entries = redis_client(settings.redis_url).xrange(STREAM)
            wiki = db.get(Wiki, "stackpriv")
            print(json.dumps({"notices": [f for _i, f in entries if f.get("wiki") == "stackpriv"],
                              "pages": wiki.page_count}))
            """,
        )
    )
    assert {"wiki": "stackpriv", "source": "ui", "commit": head, "paths": "Stack Notes.md"}.items() <= found[
        "notices"
    ][-1].items()
    assert found["pages"] == 2
    page = wikis.get(
        "/Stack%20Notes", slug="stackpriv", headers={**HTML, "Cookie": f"wikibot_session={token}"}
    )
    assert "written through caddy" in page.text
