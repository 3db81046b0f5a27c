"""The internal HTTP API (BRIEFING contract; reached by mcp at EMBEDDER_INTERNAL_URL, never routed by Caddy).

POST /search            {"wiki", "query", "mode", "k", "max_chunks_per_page", "paths"} → results grouped per page
GET  /status/{wiki}     indexed commit, HEAD, chunks, commits behind
POST /reindex/{wiki}    202: queued for the worker (?full=true rebuilds from scratch)
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from wikibot_shared.asgi import error_responses

from .search import Mode
from .service import MAX_PATH_CHARS, MAX_PATHS, MAX_QUERY_CHARS, SearchService

# What a caller must be ready for besides success (its OpenAPI; tests/schemas checks answers against it).
router = APIRouter(responses=error_responses((400, 404, 409, 413, 429, 503)))


class SearchRequest(BaseModel):
    # Strict: JSON types as written ("5" is not a k); the contract double in mcp's tests is exactly as strict.
    model_config = ConfigDict(extra="forbid", strict=True)

    wiki: str = Field(min_length=1, max_length=63)
    query: str = Field(min_length=1, max_length=MAX_QUERY_CHARS)
    mode: Mode = "hybrid"
    k: int = Field(10, ge=1, le=50)
    max_chunks_per_page: int = Field(3, ge=1, le=10)
    # Only these pages (files, as results name them: "Team/Setup.md"); [] matches nothing, null every page.
    paths: list[Annotated[str, Field(min_length=1, max_length=MAX_PATH_CHARS)]] | None = Field(
        None, max_length=MAX_PATHS
    )


def _service(request: Request) -> SearchService:
    service: SearchService = request.app.state.search
    return service


@router.post("/search")
def post_search(body: SearchRequest, request: Request) -> dict[str, Any]:
    return _service(request).search(
        body.wiki, body.query, body.mode, body.k, body.max_chunks_per_page, body.paths
    )


@router.get("/status/{wiki}")
def get_status(wiki: str, request: Request) -> dict[str, Any]:
    return _service(request).status(wiki)


@router.post("/reindex/{wiki}", status_code=202)
def post_reindex(wiki: str, request: Request, full: Annotated[bool, Query()] = False) -> JSONResponse:
    return JSONResponse(_service(request).reindex(wiki, full=full), status_code=202)
