"""ATProto identity and OAuth client: resolution (``identity``), authorization-server discovery (``discovery``),
the OAuth client with PAR, PKCE, DPoP and private_key_jwt (``client``, ``dpop``), short-lived sealed state
(``pending``) and public profiles (``profile``). No web framework here."""
