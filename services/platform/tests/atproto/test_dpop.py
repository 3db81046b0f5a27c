import time

from joserfc import jwt
from joserfc.jwk import ECKey

from wikibot_platform.atproto import dpop


def test_pkce_s256_matches_rfc7636_appendix_b() -> None:
    pkce = dpop.Pkce.from_verifier("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")
    assert pkce.challenge == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    fresh = dpop.Pkce.new()
    assert 43 <= len(fresh.verifier) <= 128
    assert fresh.verifier != dpop.Pkce.new().verifier


def test_proof_has_the_rfc9449_shape() -> None:
    key = dpop.new_key()
    token = dpop.proof(key, "POST", "https://pds.example.net/oauth/par?x=1#f", nonce="n1", access_token="abc")
    decoded = jwt.decode(token, ECKey.import_key(key.as_dict(private=False)), algorithms=["ES256"])
    assert decoded.header["typ"] == "dpop+jwt"
    assert set(decoded.header["jwk"]) == {"kty", "crv", "x", "y"}  # public part only
    claims = decoded.claims
    assert claims["htm"] == "POST"
    assert claims["htu"] == "https://pds.example.net/oauth/par"  # no query, no fragment (§4.2)
    assert claims["nonce"] == "n1"
    assert claims["ath"] == "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0"  # base64url(sha256("abc"))
    assert abs(claims["iat"] - time.time()) < 5
    assert claims["jti"] != jwt.decode(dpop.proof(key, "POST", "https://x.example"), key).claims["jti"]


def test_client_assertion_targets_the_issuer() -> None:
    key = ECKey.import_key(dpop.new_key().as_dict(private=True), parameters={"kid": "k1"})
    token = dpop.client_assertion(
        key, "https://app.example.net/auth/client-metadata.json", "https://as.example.net"
    )
    decoded = jwt.decode(token, key, algorithms=["ES256"])
    assert (decoded.header["alg"], decoded.header["kid"]) == ("ES256", "k1")
    claims = decoded.claims
    assert claims["iss"] == claims["sub"] == "https://app.example.net/auth/client-metadata.json"
    assert claims["aud"] == "https://as.example.net"
    assert claims["exp"] - claims["iat"] == 60


def test_keys_round_trip_through_json() -> None:
    key = dpop.new_key()
    again = dpop.key_from_json(dpop.key_to_json(key))
    assert again.thumbprint() == key.thumbprint()
    assert "d" in again.as_dict(private=True)
