"""Hostile input (issue 18): every tool a client lists, called through the official ``mcp`` SDK with arguments
generated from its own input schema by hypothesis, valid ones and wrong ones (a wrong type, a missing required
argument, an extra one, out of range numbers, hostile strings: traversal, NUL, very long, unicode, globs, leading
slashes). The server never answers with an internal error; every refusal says what is wrong; and it still answers
a normal read afterwards. Destructive tools run against this module's own wiki."""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import re
import threading
from collections import Counter
from collections.abc import Awaitable, Iterator
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mcp import MCPError
from mcp_types import INTERNAL_ERROR, INVALID_PARAMS

from services.mcp.tests.support.clients import sdk
from services.mcp.tests.support.served import EXPECTED_TOOLS, Served
from services.mcp.tests.support.world import ALICE, git

T = TypeVar("T")

EXAMPLES = 40  # per tool: 840 calls in all, well under a minute
TARGET = "Fuzz/Target"  # a page the generated arguments often name, so the calls reach past "not found"
SENTINEL = "Sentinel Page"  # the page of the normal read; no generated path names it

HOSTILE = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "\n",
    "\t\r\n",
    "../../etc/passwd",
    "..",
    ".",
    "/",
    "/Home",
    "//Home",
    "Home/",
    "/etc/passwd",
    "..\\..\\windows\\win.ini",
    "%2e%2e%2f%2e%2e%2fetc",
    "a/../../b",
    ".git/config",
    ".git",
    "Home.md",
    "[draft]*",
    "*",
    "**/*",
    "?",
    "[[Home]]",
    "-rf",
    "--upload-pack=touch /tmp/pwned",
    "HEAD",
    "HEAD~1",
    "HEAD^{tree}",
    "0" * 40,
    "f" * 64,
    "main",
    "$(id)",
    "`id`",
    "'; DROP TABLE wikis; --",
    "<script>alert(1)</script>",
    "CON",
    "NUL.txt",
    "é/ü/ß",
    "日本語/ページ",
    "😀/🔥",
    "\u202eevil\u202c",
    "\ud7ff\ufffd",
    "a" * 300,
    "a/" * 200,
    "x" * 70_000,
    "2024-01-01",
    "2024-13-45T25:61:61Z",
    "9999-12-31T23:59:59Z",
    "yesterday",
    "Zm9v",
    "not base64!!",
    "====",
    "open",
    TARGET,
    f"{TARGET} Moved",
    "Home",
    "Fuzz",
    "Fuzz/",
]
PLAUSIBLE = {
    "path": TARGET,
    "id": TARGET,
    "prefix": "Fuzz/",
    "new_path": f"{TARGET} Moved",
    "filename": "d.png",
    "content_base64": base64.b64encode(b"\x89PNG\r\n\x1a\n" + bytes(16)).decode(),
    "content": "Fuzzed text.\n",
    "section": "Setup",
    "old_text": "Text.",
    "query": "Target",
    "tag": "fuzz",
    "category": "Fuzz",
    "updated_since": "2020-01-01",
    "since": "2020-01-01T00:00:00Z",
    "message": "fuzz",
}
HOSTILE_NUMBERS = [0, -1, 1, 2**31, 2**63, -(2**63), 10**30, 1.5, -0.0]
INTERNAL = re.compile(r"internal[ _]error|traceback|exception|something went wrong", re.IGNORECASE)


def json_values() -> st.SearchStrategy[Any]:
    """Any JSON value (a wrong argument of any shape)."""
    scalars = st.none() | st.booleans() | st.integers() | st.sampled_from(HOSTILE) | st.text(max_size=20)
    return st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
        max_leaves=6,
    )


def strings(name: str) -> st.SearchStrategy[str]:
    """A string argument: hostile ones, names that exist, arbitrary unicode; base64 for base64 arguments."""
    options = [st.sampled_from(HOSTILE), st.text(max_size=40), st.text(alphabet="abc/. -_*[]", max_size=12)]
    if name in ("path", "id", "prefix", "new_path"):  # often the page that exists, to reach past "not found"
        options.append(st.sampled_from([TARGET, TARGET, "Home", f"{TARGET} Moved", "Fuzz/"]))
    if "base64" in name:
        options.append(st.binary(max_size=64).map(lambda b: base64.b64encode(b).decode()))
    if name == "filename":
        options.append(st.sampled_from(["d.png", "notes.txt", "a/b.png", "../x.png", ".png", "x.exe"]))
    return st.one_of(options)


def of_schema(name: str, schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """A value fitting the property's schema (enum, type lists with null, bounds, objects, arrays, anyOf)."""
    if "enum" in schema:
        values = list(schema["enum"])
        types = schema.get("type")
        if types == "null" or (isinstance(types, list) and "null" in types):
            values.append(None)
        return st.sampled_from(values)
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return st.one_of([of_schema(name, s) for s in schema[key]])
    types = schema.get("type", ["string", "integer", "boolean", "null", "object", "array"])
    if isinstance(types, str):
        types = [types]
    options: list[st.SearchStrategy[Any]] = []
    for kind in types:
        if kind == "string":
            options.append(strings(name))
        elif kind in ("integer", "number"):
            low, high = schema.get("minimum"), schema.get("maximum")
            ints = st.integers(min_value=low, max_value=high)
            if kind == "number":
                ints = ints | st.floats(min_value=low, max_value=high, allow_nan=False, allow_infinity=False)
            options.append(ints)
        elif kind == "boolean":
            options.append(st.booleans())
        elif kind == "null":
            options.append(st.none())
        elif kind == "array":
            options.append(st.lists(of_schema(name, schema.get("items", {})), max_size=4))
        elif kind == "object":
            options.append(
                st.dictionaries(
                    st.sampled_from(["tags", "category", "title", "", "\x00", "a" * 50]), json_values()
                )
                if "properties" not in schema
                else arguments(schema, valid=True)
            )
    return st.one_of(options)


def wrong(name: str, schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """A value that does not fit: another type, or a number out of the property's bounds."""
    types = schema.get("type")
    types = [types] if isinstance(types, str) else types or []
    out: list[st.SearchStrategy[Any]] = [json_values().filter(lambda v: not fits(v, types))]
    if {"integer", "number"} & set(types):
        out.append(st.sampled_from(HOSTILE_NUMBERS))
        if "minimum" in schema:
            out.append(st.just(schema["minimum"] - 1))
        if "maximum" in schema:
            out.append(st.just(schema["maximum"] + 1))
    return st.one_of(out)


def fits(value: Any, types: list[str]) -> bool:
    kinds = {
        "string": str,
        "integer": int,
        "number": (int, float),
        "boolean": bool,
        "null": type(None),
        "array": list,
        "object": dict,
    }
    for kind in types:
        if kind in ("integer", "number") and isinstance(value, bool):
            continue
        if isinstance(value, kinds.get(kind, object)):
            return True
    return not types


@st.composite
def arguments(draw: st.DrawFn, schema: dict[str, Any], valid: bool = False) -> dict[str, Any]:
    """Arguments for a tool: the required ones and some optional ones, fitting their schemas or (unless ``valid``)
    with one of these faults: a wrong value, a required argument left out, an unknown argument."""
    props: dict[str, dict[str, Any]] = schema.get("properties", {})
    required = list(schema.get("required", []))
    optional = [p for p in props if p not in required]
    chosen = required + [p for p in optional if draw(st.booleans())]
    args = {p: draw(of_schema(p, props[p]), label=p) for p in chosen}
    fault = "none" if valid else draw(st.sampled_from(["none", "none", "wrong", "missing", "extra"]))
    if fault == "wrong" and props:
        victim = draw(st.sampled_from(sorted(props)))
        args[victim] = draw(wrong(victim, props[victim]))
    elif fault == "missing" and required:
        del args[draw(st.sampled_from(required))]
    elif fault == "extra":
        extra = draw(st.sampled_from(["__proto__", "path ", "wiki", "slug", "../path", "", "x" * 100]))
        args[extra] = draw(json_values())
    return args


class Loop:
    """One event loop in a thread holding one SDK session, so that hypothesis's synchronous examples can share it."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coroutine: Awaitable[T], timeout: float = 60) -> T:
        async def wrap() -> T:
            return await coroutine

        return asyncio.run_coroutine_threadsafe(wrap(), self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


class Session:
    """The SDK session held open by one task of the loop (its cancel scopes enter and exit in that task)."""

    def __init__(self, served: Served) -> None:
        self.served, self.loop = served, Loop()
        self.token = served.world.pat(ALICE)
        ready: concurrent.futures.Future[Any] = concurrent.futures.Future()

        async def hold() -> None:
            self.stop = asyncio.Event()
            async with sdk(served.base, self.token) as client:
                ready.set_result(client)
                await self.stop.wait()

        self.held = asyncio.run_coroutine_threadsafe(hold(), self.loop.loop)
        self.client = ready.result(60)
        self.tools = {t.name: t for t in self.loop.run(self.client.list_tools()).tools}
        self.counts: dict[str, Counter[str]] = {}

    def call(self, tool: str, args: dict[str, Any]) -> Any:
        return self.loop.run(self.client.call_tool(tool, args))

    def attempt(self, tool: str, args: dict[str, Any]) -> tuple[Any, MCPError | None]:
        """The tool's result, or the JSON-RPC error it was answered with."""
        try:
            return self.call(tool, args), None
        except MCPError as error:
            return None, error

    def close(self) -> None:
        try:
            self.loop.loop.call_soon_threadsafe(self.stop.set)
            self.held.result(30)
        finally:
            self.loop.close()


@pytest.fixture(scope="module")
def session(served: Served) -> Iterator[Session]:
    running = Session(served)
    assert (
        running.call("write_note", {"path": SENTINEL, "content": "# Sentinel\n\nStill here.\n"}).is_error
        is False
    )
    yield running
    calls = sum(c["calls"] for c in running.counts.values())
    refusals = sum(c["refusals"] for c in running.counts.values())
    print(f"\nfuzzed {len(running.counts)} tools: {calls} calls, {refusals} refusals, 0 internal errors")
    running.close()


def fresh_target(session: Session) -> None:
    """The page the generated arguments name, with sections, links, front matter and an attachment."""
    content = (
        "---\ntags: [fuzz]\ncategory: Fuzz\n---\n# Target\n\n## Setup\n\nSee [[Home]].\n\n## Linux\n\nText.\n"
    )
    read = session.call("read_note", {"path": TARGET})
    write = {"path": TARGET, "content": content}
    if not read.is_error:
        write["base_revision"] = read.structured_content["revision"]
    result = session.call("write_note", write)
    assert not result.is_error, result.content
    png = base64.b64encode(b"\x89PNG\r\n\x1a\n" + bytes(range(32))).decode()
    upload = {"path": TARGET, "filename": "d.png", "content_base64": png, "overwrite": True}
    assert not session.call("upload_attachment", upload).is_error


def still_answers(session: Session) -> None:
    read = session.call("read_note", {"path": SENTINEL})
    assert not read.is_error, read.content
    assert "Still here." in read.structured_content["content"]


def refusal_is_actionable(tool: str, args: dict[str, Any], text: str, schema: dict[str, Any]) -> None:
    """Not empty, no internals, and says what is wrong: a stable error code, or the argument it is about."""
    assert text.strip(), (tool, args)
    assert not INTERNAL.search(text), (tool, args, text)
    names = set(schema.get("properties", {})) | set(args)
    coded = re.match(r"^\[[a-z_]+\] \S", text) is not None
    about = any(name and name in text for name in names)
    # an unknown argument whose name is empty cannot be quoted; the refusal still says what is wrong
    unexpected = "Unexpected keyword argument" in text and "" in args
    assert coded or about or unexpected, (tool, args, text)


def tool_ids() -> list[str]:
    return sorted(EXPECTED_TOOLS)


@pytest.mark.parametrize("tool", tool_ids())
def test_generated_arguments_never_make_an_internal_error(session: Session, tool: str) -> None:
    assert set(session.tools) == EXPECTED_TOOLS  # what tools/list gives is what is fuzzed
    schema = session.tools[tool].input_schema
    counts = session.counts.setdefault(tool, Counter())
    fresh_target(session)
    commit = git(session.served.world, "rev-parse", "HEAD").strip()

    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(args=arguments(schema), commit_like=st.booleans(), plausible=st.booleans())
    def one(args: dict[str, Any], commit_like: bool, plausible: bool) -> None:
        if (
            plausible
        ):  # sensible values where the draw put strings, so that calls also get through to the work
            for key, value in PLAUSIBLE.items():
                if isinstance(args.get(key), str):
                    args[key] = value
        if commit_like:  # a real commit where the tool takes one, to get past "no such commit"
            for key in ("commit", "from_commit", "revision", "base_revision"):
                if key in args and isinstance(args[key], str):
                    args[key] = commit
        counts["calls"] += 1
        result, error = session.attempt(tool, args)
        if error is not None:  # a JSON-RPC error: only Invalid Params, in words
            assert error.code != INTERNAL_ERROR, (tool, args, error.message)
            assert error.code == INVALID_PARAMS, (tool, args, error.code, error.message)
            counts["refusals"] += 1
            refusal_is_actionable(tool, args, error.message, schema)
            return
        texts = " ".join(getattr(c, "text", "") for c in result.content)
        if result.is_error:
            counts["refusals"] += 1
            refusal_is_actionable(tool, args, texts, schema)
        else:  # a success may quote any page text; it is never the internal error
            assert "[internal_error]" not in texts, (tool, args, texts)
        if counts["calls"] % 8 == 0:
            still_answers(session)

    one()
    still_answers(session)
    print(f"\n{tool}: {counts['calls']} calls, {counts['refusals']} refusals, 0 internal errors")
