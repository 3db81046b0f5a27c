"""Wikibot's shared core: what every service needs, and nothing service-specific.

Import from the modules named here (this package re-exports only ``__version__``). Framework-neutral unless said:

- settings and errors — ``config`` (``CommonSettings``, ``settings_or_exit``), ``errors`` (``WikibotError`` and its
  tree, drawn in the module)
- data — ``db`` (engine, sessions), ``models`` (the tables), ``migrate`` and ``migrations/`` (Alembic upgrade and
  key creation, run once), ``migrate_gate`` (waiting for it), ``backup`` (one archive, create and restore)
- identity — ``keys`` (signing keys on the data volume, JWKS, rotation), ``tokens`` (issuing session, access and
  personal tokens), ``crypto`` (secrets encrypted at rest), ``handoff`` (a session handed to a wiki host),
  ``verify`` (the one verification entry point: request → ``Principal`` → ``Access``, or a precise ``AuthError``)
- decisions — ``acl`` (roles and what they allow, ARCHITECTURE §4), ``tiers`` (plan limits, checked before every
  write), ``tenant`` (``Host`` → platform or wiki slug), ``ratelimit`` (counters shared by every worker)
- wikis — ``storage`` (where a wiki lives, creating and removing it), ``git`` (the one way git is started),
  ``locks`` (the per-repository write lock), ``markdown`` (the one Markdown model: front matter, headings,
  sections, links), ``queue`` (Redis and the change-notice stream)
- the edge of every service — ``web`` (errors as JSON, the request-id middleware, body limits), ``asgi`` (the
  FastAPI error handlers and health routes), ``serve`` (the uvicorn entry), ``health`` (readiness checks),
  ``metrics`` (Prometheus), ``logs`` (JSON or text, secrets redacted), ``safehttp`` (the hardened outbound
  client), ``progress`` (progress of long CLI operations)
"""

from importlib.metadata import version as _version

# Wikibot's version (every package of the workspace carries the same one): MCP serverInfo, health, User-Agent.
__version__ = _version("wikibot-shared")
