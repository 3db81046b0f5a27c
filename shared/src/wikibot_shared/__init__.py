"""Wikibot's shared core: framework-neutral pieces every service uses.

Public surface (import from the modules named here):

- ``config``   — ``CommonSettings`` and ``load_settings`` (one settings object per service)
- ``errors``   — ``WikibotError`` and its tree
- ``db``       — engine/session factory; ``models`` — the tables; ``migrate`` — Alembic upgrade + keys
- ``keys``     — signing keys on the data volume, JWKS, rotation
- ``tokens``   — issuing session/access JWTs and personal access tokens
- ``verify``   — the one verification entry point: request → ``Principal`` or ``AuthError``
- ``acl``      — roles and the decision table (ARCHITECTURE §4)
- ``tenant``   — ``Host`` → platform or wiki slug
- ``locks``    — the per-repository write lock
- ``queue``    — Redis connection and the change-notice stream
- ``logs``     — JSON/text logging with secret redaction
"""

from importlib.metadata import version as _version

# Wikibot's version (every package of the workspace carries the same one): MCP serverInfo, health, User-Agent.
__version__ = _version("wikibot-shared")
