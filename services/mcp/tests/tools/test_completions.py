"""``completion/complete`` through the official ``mcp`` SDK client and FastMCP's client: page paths by prefix for
the page template and the prompts' page arguments, a page's attachments, the spec's cap of 100 with total and
hasMore, nothing for what nothing completes, and only for this wiki's readers."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from mcp_types import Completion, PromptReference, ResourceTemplateReference

from services.mcp.tests.support.clients import fast, sdk
from services.mcp.tests.support.served import Served
from services.mcp.tests.support.world import ALICE, CAROL, DAVE
from wikibot_mcp.tools.resources import ATTACHMENT_TEMPLATE, PAGE_TEMPLATE

PAGE = ResourceTemplateReference(uri=PAGE_TEMPLATE)
ATTACHMENT = ResourceTemplateReference(uri=ATTACHMENT_TEMPLATE)
MANY = "many"


@pytest.fixture(scope="module", autouse=True)
def pages(served: Served) -> None:
    for path in ("Team/Alpha", "Team/Beta", "Teamwork", "Other"):
        served.ok("write_note", {"path": path, "content": f"# {path}\n"})
    served.ok("upload_attachment", {"path": "Team/Alpha", "filename": "plan.pdf", "content_base64": "AA=="})
    served.ok("upload_attachment", {"path": "Team/Alpha", "filename": "photo.jpg", "content_base64": "AA=="})
    served.world.add_wiki(MANY, files={f"Note {i:03d}.md": f"# Note {i}\n" for i in range(150)})


def complete(
    served: Served,
    ref: PromptReference | ResourceTemplateReference,
    argument: str,
    value: str,
    context: dict[str, str] | None = None,
    *,
    token: str | None = None,
    host: str = "notes.localhost:8080",
) -> Completion:
    async def go() -> Completion:
        async with sdk(served.base, token or served.world.pat(ALICE), host) as client:
            answer = await client.complete(ref, {"name": argument, "value": value}, context)
            return answer.completion

    return asyncio.run(go())


def test_page_paths_complete_by_prefix_whatever_the_case(served: Served) -> None:
    found = complete(served, PAGE, "path", "tea")
    assert found.values == ["Team/Alpha", "Team/Beta", "Teamwork"]
    assert (found.total, found.has_more) == (3, False)
    assert complete(served, PAGE, "path", "TEAM/b").values == ["Team/Beta"]
    assert complete(served, PAGE, "path", "zzz").values == []
    everything = complete(served, PAGE, "path", "")
    assert {"Home", "Other", "Team/Alpha"} <= set(everything.values)


def test_prompt_arguments_that_name_pages_complete(served: Served) -> None:
    record = PromptReference(name="record_note")
    assert complete(served, record, "path", "team/").values == ["Team/Alpha", "Team/Beta"]
    assert complete(served, record, "topic", "team").values == []  # not a page
    since = PromptReference(name="changes_since")
    assert complete(served, since, "prefix", "Oth").values == ["Other"]
    fix = PromptReference(name="fix_orphans_and_broken_links")
    assert complete(served, fix, "prefix", "Home").values == ["Home"]
    assert complete(served, PromptReference(name="no_such_prompt"), "path", "T").values == []


def test_attachments_complete_for_the_page_given(served: Served) -> None:
    assert complete(served, ATTACHMENT, "page", "team/a").values == ["Team/Alpha"]
    both = complete(served, ATTACHMENT, "filename", "", {"page": "Team/Alpha"})
    assert both.values == ["photo.jpg", "plan.pdf"]
    assert complete(served, ATTACHMENT, "filename", "PL", {"page": "Team/Alpha"}).values == ["plan.pdf"]
    assert complete(served, ATTACHMENT, "filename", "p").values == []  # which page?
    assert complete(served, ATTACHMENT, "filename", "p", {"page": "No Such Page"}).values == []


def test_at_most_a_hundred_values_with_the_total(served: Served) -> None:
    token = served.world.pat(ALICE, MANY)
    capped = complete(served, PAGE, "path", "note", token=token, host=f"{MANY}.localhost:8080")
    assert capped.values == [f"Note {i:03d}" for i in range(100)]
    assert (capped.total, capped.has_more) == (150, True)
    narrower = complete(served, PAGE, "path", "note 14", token=token, host=f"{MANY}.localhost:8080")
    assert narrower.values == [f"Note 14{i}" for i in range(10)]
    assert (narrower.total, narrower.has_more) == (10, False)

    async def with_fastmcp() -> Any:
        async with fast(served.base, token, f"{MANY}.localhost:8080") as client:
            return await client.complete(PAGE, {"name": "path", "value": "note 00"})

    assert asyncio.run(with_fastmcp()).values == [f"Note 00{i}" for i in range(10)]


def test_completions_are_for_this_wikis_readers(served: Served) -> None:
    assert complete(served, PAGE, "path", "tea", token=served.world.pat(CAROL)).total == 3  # a viewer
    read_only = served.world.pat(ALICE, scopes="wiki:read")
    assert complete(served, PAGE, "path", "tea", token=read_only).total == 3
    # another wiki's names never leak: its token is refused here, and here its pages are not ours
    assert "Note 000" not in complete(served, PAGE, "path", "note").values
    url = served.base + "/mcp"
    h = {"Host": "notes.localhost:8080", "Accept": "application/json, text/event-stream"}
    params = {
        "ref": {"type": "ref/resource", "uri": PAGE_TEMPLATE},
        "argument": {"name": "path", "value": "T"},
    }
    body = {"jsonrpc": "2.0", "id": 1, "method": "completion/complete", "params": params}
    assert httpx.post(url, json=body, headers=h).status_code == 401
    other = {**h, "Authorization": f"Bearer {served.world.pat(DAVE, 'other')}"}
    assert httpx.post(url, json=body, headers=other).status_code == 401
