"""What the management UI, the API and the admin CLI do, without the web framework.

Every function takes a database session and the acting principal, asks the shared core (``wikibot_shared.acl``)
whether the principal may act, and raises the precise ``WikibotError`` otherwise. The HTTP layers only translate.
"""
