"""Client of the embedder's internal search API (the contract in docs/search.md: ``POST /search``, ``GET /status``).

The embedder owns the model and the indexes; the wiki core only asks. Connection problems and 5xx answers
become ``SearchUnavailable`` (503) with a message telling the agent what to use meanwhile; a wiki the embedder
has not indexed yet is an empty result, not an error.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import httpx

from wikibot_shared.errors import InputError
from wikibot_shared.logs import propagation_headers

from .errors import SearchUnavailable

Mode = Literal["semantic", "fulltext", "hybrid"]
UNAVAILABLE = "search is unavailable right now; use list_notes and read_note meanwhile, or retry shortly"


@dataclass(frozen=True)
class Chunk:
    section: str
    text: str
    snippet: str
    score: float
    position: int


@dataclass(frozen=True)
class Hit:
    path: str
    page: str
    title: str
    score: float
    chunks: list[Chunk]


@dataclass(frozen=True)
class SearchResult:
    mode: str
    commit: str | None
    hits: list[Hit]


def _hit(raw: dict[str, Any]) -> Hit:
    return Hit(
        path=str(raw.get("path", "")),
        page=str(raw.get("page", "")),
        title=str(raw.get("title") or raw.get("page") or ""),
        score=float(raw.get("score") or 0.0),
        chunks=[
            Chunk(
                section=str(c.get("section") or ""),
                text=str(c.get("text") or ""),
                snippet=str(c.get("snippet") or ""),
                score=float(c.get("score") or 0.0),
                position=int(c.get("position") or 0),
            )
            for c in raw.get("chunks") or []
            if isinstance(c, dict)
        ],
    )


class SearchClient:
    def __init__(self, base_url: str, *, timeout: float = 15.0, client: httpx.Client | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.client = client or httpx.Client(timeout=timeout, follow_redirects=False)

    def search(
        self,
        wiki: str,
        query: str,
        mode: Mode,
        k: int = 10,
        max_chunks_per_page: int = 3,
        paths: Sequence[str] | None = None,
    ) -> SearchResult:
        """``paths``: only these pages (their files, ``Team/Setup.md``); ``[]`` finds nothing."""
        body: dict[str, Any] = {
            "wiki": wiki,
            "query": query,
            "mode": mode,
            "k": k,
            "max_chunks_per_page": max_chunks_per_page,
        }
        if paths is not None:
            body["paths"] = list(paths)
        try:
            response = self.client.post(f"{self.base_url}/search", json=body, headers=propagation_headers())
        except httpx.HTTPError:
            raise SearchUnavailable(UNAVAILABLE) from None
        if response.status_code == 404:
            return SearchResult(mode, None, [])  # not indexed yet
        if response.status_code == 400:
            raise InputError(_message(response, "the search request was refused"), code="invalid_search")
        if response.status_code != 200:
            raise SearchUnavailable(UNAVAILABLE)
        try:
            data = response.json()
            hits = [_hit(h) for h in data.get("results") or [] if isinstance(h, dict)]
        except (ValueError, AttributeError, TypeError):
            raise SearchUnavailable(UNAVAILABLE) from None
        return SearchResult(str(data.get("mode") or mode), data.get("commit"), hits)

    def status(self, wiki: str) -> dict[str, Any] | None:
        try:
            response = self.client.get(f"{self.base_url}/status/{wiki}", headers=propagation_headers())
        except httpx.HTTPError:
            return None
        if response.status_code != 200:
            return None
        try:
            data = response.json()
        except ValueError:
            return None
        return data if isinstance(data, dict) else None


def _message(response: httpx.Response, default: str) -> str:
    try:
        return str(response.json().get("message") or default)
    except (ValueError, AttributeError):
        return default
