"""Sign-in to the platform, without and with the web framework.

flow        sign-in with ATProto as steps (begin, callback, complete, logout), no web framework
loginlink   one-time sign-in links (``wikibot-admin login-link``): mint and redeem
sessions    platform sessions: start, renew and end one; the session cookie
returnto    where a signed-in browser lands (``return_to`` on our hosts, wiki hosts by handoff)
csrf        the CSRF checks of every cookie-authenticated unsafe request
routes      the pages and endpoints under ``/auth`` (``/auth/login`` … ``/auth/link``)
"""
