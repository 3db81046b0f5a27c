"""The one error root of Wikibot.

    WikibotError
    ├── ConfigError                 a setting is missing or unsafe (service exits non-zero)
    ├── InputError          400     the caller sent something malformed
    │   └── InvalidHost     400     a Host header that is not ours or not well formed
    ├── AuthError           401     no credentials, or credentials that do not verify
    ├── Forbidden           403     authenticated, but the role or scope does not allow it
    │   └── InsufficientScope 403   the token lacks a scope (RFC 6750 §3.1)
    ├── NotFound            404     no such wiki, page, token, ...
    ├── Conflict            409     a write that names a stale revision, a duplicate name
    ├── LimitExceeded       413     a tier limit (pages, bytes, attachment size)
    ├── ReadOnly            403     the wiki's payment lapsed: reads only
    ├── RateLimited         429     too many requests; carries retry_after
    ├── Unavailable         503     a service this needs (the database, Redis, another service) is not answering
    │                               now; carries retry_after (``outage.unavailable`` makes it from the exception)
    └── StorageError        500     a repository on the data volume could not be read or written
        └── GitError        500     git exited non-zero or could not start; carries git's stderr (``git.run``)

Each error has a stable ``code`` (machine-readable, used in JSON bodies and MCP messages) and a
``message`` safe to show to a client. Services map the tree to responses in one place each.
"""

from __future__ import annotations


class WikibotError(Exception):
    status: int = 500
    code: str = "internal_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def to_dict(self) -> dict[str, object]:
        return {"error": self.code, "message": self.message}


class ConfigError(WikibotError):
    code = "config_error"


class InputError(WikibotError):
    status = 400
    code = "invalid_request"


class InvalidHost(InputError):
    code = "invalid_host"


class AuthError(WikibotError):
    """401. ``challenge`` is the full ``WWW-Authenticate`` value the service should send."""

    status = 401
    code = "invalid_token"

    def __init__(self, message: str, *, code: str | None = None, challenge: str | None = None) -> None:
        super().__init__(message, code=code)
        self.challenge = challenge


class Forbidden(WikibotError):
    status = 403
    code = "forbidden"


class InsufficientScope(Forbidden):
    code = "insufficient_scope"

    def __init__(self, message: str, *, scope: str, challenge: str | None = None) -> None:
        super().__init__(message)
        self.scope = scope
        self.challenge = challenge


class ReadOnly(Forbidden):
    code = "wiki_read_only"


class NotFound(WikibotError):
    status = 404
    code = "not_found"


class Conflict(WikibotError):
    status = 409
    code = "conflict"


class LimitExceeded(WikibotError):
    status = 413
    code = "limit_exceeded"


class RateLimited(WikibotError):
    status = 429
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Unavailable(WikibotError):
    """Retryable: nothing was done, and the same request will work once the dependency is back."""

    status = 503
    code = "unavailable"

    def __init__(self, message: str, *, retry_after: int = 5) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class StorageError(WikibotError):
    code = "storage_error"


class GitError(StorageError):
    """``git`` failed: ``returncode`` is None when it could not be started at all (no binary, no directory)."""

    def __init__(self, args: tuple[str, ...], returncode: int | None, stderr: str) -> None:
        super().__init__(f"git {args[0] if args else ''} failed: {stderr.strip()[:500]}")
        self.git_args = args
        self.returncode = returncode
        self.stderr = stderr
