"""The service layer: what the management API (``api/``), the UI (``ui/``) and the admin CLI do, without the web
framework.

Every function takes a database session and the acting principal, asks the shared core (``wikibot_shared.acl``)
whether the principal may act, and raises the precise ``WikibotError`` otherwise. Changes come in as the
``XCreate`` / ``XUpdate`` shapes of ``schemas`` and results go out as its ``XPublic`` ones, so the API and the UI
show the same thing. The HTTP layers only translate.
"""
