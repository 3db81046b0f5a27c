"""Helpers for the mcp tests, imported by the tests and by ``conftest.py`` (which only makes fixtures of them):
``world`` (a migrated database, Redis, repositories, people and tokens), ``clients`` (the MCP SDK clients),
``servers`` (uvicorn, the contract embedder, a JWKS endpoint), ``served`` (the app under uvicorn for the tools'
tests) and ``otterwiki_oracle`` (Otterwiki's own helpers, run in a subprocess)."""
