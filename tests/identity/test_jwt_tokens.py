"""JWT access tokens from a real issuer (KeyServer: discovery + JWKS over HTTP on 127.0.0.1), minted with joserfc."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import anyio
import pytest

from reconciler.identity.errors import TokenRejected
from reconciler.identity.principal import Principal
from reconciler.identity.verifier import OidcVerifier
from reconciler.models.identity import OidcConfig
from tests.backends.oidc import KeyServer

AUDIENCE = "https://homeport.test/mcp"


def _config(server: KeyServer, **extra: Any) -> OidcConfig:
    return OidcConfig.model_validate({"issuer": server.issuer, "audience": AUDIENCE,
                                      "groups": {"homelab-admins": ["admin"], "homelab-agents": ["read", "propose"]},
                                      **extra})


def _verify(verifier: OidcVerifier, token: str) -> Principal:
    async def go() -> Principal:
        return await verifier.verify(token)

    return anyio.run(go)


def _refused(verifier: OidcVerifier, token: str) -> str:
    with pytest.raises(TokenRejected) as info:
        _verify(verifier, token)
    return str(info.value)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@pytest.mark.parametrize("scope", ["read", "propose", "approve", "admin"])
def test_a_valid_token_per_scope(key_server: KeyServer, scope: str) -> None:
    """A token carrying one homeport scope yields exactly that scope, for its subject and issuer."""
    principal = _verify(OidcVerifier(_config(key_server)), key_server.mint(scope=f"openid {scope}"))
    assert principal.scopes == {scope} and principal.subject == "alice" and principal.issuer == key_server.issuer
    assert principal.source == "jwt" and principal.audience == (AUDIENCE,)


def test_scope_prefix_and_ec_keys(key_server: KeyServer) -> None:
    """With scope_prefix 'homeport:' only prefixed scopes count; an ES256 token from the same JWKS verifies."""
    verifier = OidcVerifier(_config(key_server, scope_prefix="homeport:"))
    token = key_server.mint(scope="read homeport:propose", alg="ES256", kid="ec-1")
    assert _verify(verifier, token).scopes == {"propose"}


def test_groups_map_to_scopes(key_server: KeyServer) -> None:
    """Groups (list or Keycloak-style paths, nested claims by dotted name) map to scopes; unmapped groups give none."""
    verifier = OidcVerifier(_config(key_server))
    assert _verify(verifier, key_server.mint(scope=None, groups=["homelab-agents"])).scopes == {"read", "propose"}
    assert _verify(verifier, key_server.mint(scope=None, groups=["/home/homelab-admins"])).scopes == {"admin"}
    assert _verify(verifier, key_server.mint(scope=None, groups=["visitors"])).scopes == frozenset()
    nested = OidcVerifier(_config(key_server, groups_claim="realm_access.roles"))
    token = key_server.mint(scope=None, realm_access={"roles": ["homelab-agents"]})
    assert _verify(nested, token).scopes == {"read", "propose"}


def test_expired_and_not_yet_valid_are_refused(key_server: KeyServer) -> None:
    """exp in the past (beyond the skew), nbf or iat in the future: refused; within the skew: accepted."""
    verifier = OidcVerifier(_config(key_server, clock_skew_seconds=30))
    now = int(time.time())
    assert "expired" in _refused(verifier, key_server.mint(iat=now - 600, exp=now - 120))
    assert "not valid for another" in _refused(verifier, key_server.mint(nbf=now + 300))
    assert "future" in _refused(verifier, key_server.mint(iat=now + 300, exp=now + 900))
    assert _verify(verifier, key_server.mint(exp=now - 10)).subject == "alice"  # inside the 30 s skew


def test_wrong_issuer_and_wrong_audience_are_refused(key_server: KeyServer) -> None:
    """Another issuer, another audience (a token for another resource: no passthrough), or no aud at all."""
    verifier = OidcVerifier(_config(key_server))
    assert "issued by someone else" in _refused(verifier, key_server.mint(iss="https://evil.test"))
    assert "another audience" in _refused(verifier, key_server.mint(aud="https://grafana.test"))
    assert "another audience" in _refused(verifier, key_server.mint(aud=["https://grafana.test", "account"]))
    assert "aud" in _refused(verifier, key_server.mint(aud=None))
    assert _verify(verifier, key_server.mint(aud=["account", AUDIENCE])).subject == "alice"


def test_unknown_kid_refetches_once_then_refuses(key_server: KeyServer) -> None:
    """Rotation: a new key is found by one JWKS refetch; a kid nobody publishes costs one refetch, then none."""
    verifier = OidcVerifier(_config(key_server, jwks_min_refresh_seconds=60))
    _verify(verifier, key_server.mint())
    assert key_server.jwks_hits == 1
    _verify(verifier, key_server.mint())
    assert key_server.jwks_hits == 1  # cached

    from joserfc.jwk import RSAKey

    rotated = RSAKey.generate_key(2048, parameters={"kid": "rsa-2"})
    key_server.keys.append(rotated)
    key_server.published = [rotated, key_server.keys[1]]
    verifier.jwks.fetched_at = (verifier.jwks.fetched_at or 0) - 120  # the last fetch was two minutes ago
    assert _verify(verifier, key_server.mint(key=rotated, kid="rsa-2")).subject == "alice"
    assert key_server.jwks_hits == 2

    stranger = RSAKey.generate_key(2048, parameters={"kid": "nobody"})
    verifier.jwks.fetched_at = (verifier.jwks.fetched_at or 0) - 120
    assert "no signing key" in _refused(verifier, key_server.mint(key=stranger, kid="nobody"))
    assert key_server.jwks_hits == 3  # refetched once
    assert "no signing key" in _refused(verifier, key_server.mint(key=stranger, kid="nobody"))
    assert key_server.jwks_hits == 3  # bounded: no refetch within jwks_min_refresh_seconds
    # The retired key is gone from the JWKS: its tokens are refused too.
    assert "no signing key" in _refused(verifier, key_server.mint(kid="rsa-1"))


def test_alg_none_is_refused(key_server: KeyServer) -> None:
    """An unsigned token (alg none) is refused before any key is looked at."""
    now = int(time.time())
    claims = {"iss": key_server.issuer, "sub": "mallory", "aud": AUDIENCE, "iat": now, "exp": now + 60,
              "scope": "admin"}
    unsigned = f"{_b64(json.dumps({'alg': 'none', 'kid': 'rsa-1'}).encode())}.{_b64(json.dumps(claims).encode())}."
    assert "'none' is not accepted" in _refused(OidcVerifier(_config(key_server)), unsigned)


def test_hs256_signed_with_the_public_key_is_refused(key_server: KeyServer) -> None:
    """The key-confusion attack: HMAC over the token with the RSA public key as secret. Refused: HS* never accepted."""
    now = int(time.time())
    public_pem = key_server.keys[0].as_pem(private=False)
    header = _b64(json.dumps({"alg": "HS256", "kid": "rsa-1", "typ": "JWT"}).encode())
    payload = _b64(json.dumps({"iss": key_server.issuer, "sub": "mallory", "aud": AUDIENCE, "iat": now,
                               "exp": now + 60, "scope": "admin"}).encode())
    signature = _b64(hmac.new(public_pem, f"{header}.{payload}".encode(), hashlib.sha256).digest())
    assert "'HS256' is not accepted" in _refused(OidcVerifier(_config(key_server)), f"{header}.{payload}.{signature}")


def test_forged_signature_and_key_type_mismatch_are_refused(key_server: KeyServer) -> None:
    """A token signed by a key with a published kid but not the published key; an RS256 header on the EC key."""
    from joserfc.jwk import RSAKey

    impostor = RSAKey.generate_key(2048, parameters={"kid": "rsa-1"})
    verifier = OidcVerifier(_config(key_server))
    assert "InvalidSignatureError" in _refused(verifier, key_server.mint(key=impostor, kid="rsa-1"))
    assert "EC key" in _refused(verifier, key_server.mint(key=key_server.keys[0], kid="ec-1"))


def test_not_a_jwt_and_missing_subject(key_server: KeyServer) -> None:
    """An opaque string in jwt mode, and a token without sub, are refused with the reason."""
    verifier = OidcVerifier(_config(key_server))
    assert "not a JWT" in _refused(verifier, "hpt_opaque-token")
    assert "'sub'" in _refused(verifier, key_server.mint(sub=None))


def test_introspection_of_opaque_tokens(key_server: KeyServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """RFC 7662: active tokens for our audience map to scopes; inactive or other-audience ones are refused."""
    monkeypatch.setenv("TEST_OIDC_SECRET", key_server.introspection_client[1])
    now = int(time.time())
    key_server.introspected = {
        "good": {"active": True, "sub": "bob", "iss": key_server.issuer, "aud": AUDIENCE, "exp": now + 60,
                 "scope": "openid", "groups": ["homelab-agents"]},
        "elsewhere": {"active": True, "sub": "bob", "iss": key_server.issuer, "aud": "https://grafana.test",
                      "exp": now + 60},
    }
    verifier = OidcVerifier(_config(key_server, access_tokens="introspection", client_id="homeport",
                                    client_secret_env="TEST_OIDC_SECRET"))
    principal = _verify(verifier, "good")
    assert principal.subject == "bob" and principal.scopes == {"read", "propose"}
    assert principal.source == "introspection"
    assert "not active" in _refused(verifier, "revoked-or-unknown")
    assert "another audience" in _refused(verifier, "elsewhere")


def test_refusals_are_logged_without_the_token(key_server: KeyServer, caplog: pytest.LogCaptureFixture) -> None:
    """A refused token is logged by digest and reason; the token itself never reaches the log."""
    verifier = OidcVerifier(_config(key_server))
    token = key_server.mint(aud="https://grafana.test")

    async def go() -> Principal | None:
        return await verifier.try_verify(token)

    with caplog.at_level("INFO", logger="homeport.identity"):
        assert anyio.run(go) is None
    assert "another audience" in caplog.text and token not in caplog.text
    assert token.split(".")[1] not in caplog.text
