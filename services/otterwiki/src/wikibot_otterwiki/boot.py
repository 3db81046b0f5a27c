"""Import upstream Otterwiki once per process and rewire its module state to follow the bound wiki.

``otterwiki.server`` builds a Flask app, a ``GitStorage`` and a settings database at import, from the
environment. We import it against a throw-away placeholder repository and an in-memory database, with
``AUTH_METHOD=PROXY_HEADER``, then replace what is per wiki:

- ``storage`` in every Otterwiki module → ``StorageProxy`` (the bound wiki's ``TenantStorage``);
- ``app.config`` → ``TenantConfig``: the bound wiki's overlay (``prefs``) first, process defaults second;
- Flask-SQLAlchemy's engine map → the bound wiki's settings database;
- the auth manager → ``WikibotProxyAuth`` (upstream's proxy-header auth, plus read for anonymous visitors of
  public wikis when the middleware grants it), and ``update_app_config`` → reload of the bound wiki only;
- remote push/pull and mail are switched off at the source.

Nothing here decides access; the middleware does (``middleware``), Otterwiki enforces what it is given.
"""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from flask import Config, Flask
from sqlalchemy import Engine

from wikibot_shared.storage import Author, git

from . import prefs
from .context import current, current_or_none
from .storage import StorageProxy

_lock = threading.Lock()
_app: Flask | None = None

OTTERWIKI_COOKIE = "otterwiki_session"


class TenantConfig(Config):
    """``app.config`` whose keys resolve in the bound wiki's overlay first."""

    def __getitem__(self, key: Any) -> Any:
        wiki = current_or_none()
        if wiki is not None:
            overlay = wiki.state.config
            if key in overlay:
                return overlay[key]
        return dict.__getitem__(self, key)

    def get(self, key: Any, default: Any = None) -> Any:
        wiki = current_or_none()
        if wiki is not None:
            overlay = wiki.state.config
            if key in overlay:
                return overlay[key]
        return dict.get(self, key, default)

    def __contains__(self, key: object) -> bool:
        wiki = current_or_none()
        if wiki is not None and key in wiki.state.config:
            return True
        return dict.__contains__(self, key)

    def __setitem__(self, key: Any, value: Any) -> None:
        wiki = current_or_none()
        if wiki is not None:  # never leaks into the process defaults, so never into another wiki
            wiki.state.config[key] = value
        else:
            dict.__setitem__(self, key, value)


class TenantEngines(Mapping[str | None, Engine]):
    """Flask-SQLAlchemy's engine map: the default bind is the bound wiki's settings database."""

    def __init__(self, fallback: Engine) -> None:
        self._fallback = fallback

    def __getitem__(self, key: str | None) -> Engine:
        if key is not None:
            raise KeyError(key)
        wiki = current_or_none()
        return wiki.state.engine if wiki is not None else self._fallback

    def __iter__(self) -> Iterator[str | None]:
        return iter([None])

    def __len__(self) -> int:
        return 1


def _placeholder_repository() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="wikibot-otterwiki-"))
    atexit.register(shutil.rmtree, folder, True)
    git(folder, "init", "-q", "-b", "main")
    (folder / "README").write_text("Otterwiki's import-time repository; never served.\n")
    git(folder, "add", "README")
    git(folder, "commit", "-q", "-m", "placeholder", env=Author("wikibot", "wikibot@did.invalid").env)
    return folder


def _environment(repository: Path) -> dict[str, str]:
    env = {
        "REPOSITORY": str(repository),
        "SECRET_KEY": os.urandom(32).hex(),  # replaced per wiki (prefs.wiki_secret)
        "SQLALCHEMY_DATABASE_URI": "sqlite:///:memory:",
        "SITE_NAME": "Wikibot",
        "LOG_LEVEL": "WARNING",
        "LOG_LEVEL_WERKZEUG": "WARNING",
        "SESSION_COOKIE_NAME": OTTERWIKI_COOKIE,
    }
    for key, value in prefs.PINNED.items():
        if value is not None:
            env[key] = str(value)
    return env


def otterwiki_app() -> Flask:
    """The process's one Otterwiki Flask app, imported and rewired on first use."""
    global _app
    with _lock:
        if _app is None:
            _app = _boot()
        return _app


def _boot() -> Flask:
    if "otterwiki.server" in sys.modules:
        raise RuntimeError("otterwiki.server was imported before wikibot_otterwiki.boot could configure it")
    env = _environment(_placeholder_repository())
    saved = {key: os.environ.get(key) for key in (*env, "OTTERWIKI_SETTINGS")}
    os.environ.update(env)
    os.environ.pop("OTTERWIKI_SETTINGS", None)
    try:
        import otterwiki.server as server
        import otterwiki.views  # noqa: F401 - registers the routes
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    app: Flask = server.app
    _rewire(server, app)
    from . import hooks

    hooks.install(app)
    return app


def _rewire(server: Any, app: Flask) -> None:
    import otterwiki.auth as auth
    import otterwiki.helper as helper
    import otterwiki.preferences as preferences
    import otterwiki.repomgmt as repomgmt

    placeholder = server.storage
    proxy = StorageProxy()
    for name, module in list(sys.modules.items()):
        if name.startswith("otterwiki") and getattr(module, "storage", None) is placeholder:
            setattr(module, "storage", proxy)  # noqa: B010
    repomgmt.repo_manager = None  # remote push/pull: never (prefs.PINNED)

    app.config.__class__ = TenantConfig
    db = server.db
    db._app_engines[app] = TenantEngines(db._app_engines[app][None])

    from .auth import WikibotProxyAuth

    manager = WikibotProxyAuth(
        username_header=app.config["AUTH_HEADERS_USERNAME"],
        email_header=app.config["AUTH_HEADERS_EMAIL"],
        roles_header=app.config["AUTH_HEADERS_PERMISSIONS"],
        read_roles=app.config["AUTH_ROLES_READ"],
        write_roles=app.config["AUTH_ROLES_WRITE"],
        upload_roles=app.config["AUTH_ROLES_UPLOAD"],
        admin_roles=app.config["AUTH_ROLES_ADMIN"],
    )
    auth.auth_manager = manager
    app.jinja_env.globals.update(auth_supported_features=manager.supported_features())

    def preferences_saved() -> None:
        wiki = current()
        wiki.services.states.touch(wiki.state)

    server.update_app_config = preferences_saved
    preferences.update_app_config = preferences_saved

    def no_mail(*args: Any, **kwargs: Any) -> None:
        app.logger.info("mail is not sent from wikis")

    for module in (helper, auth, preferences):
        module.send_mail = no_mail
