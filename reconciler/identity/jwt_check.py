"""Checking a signed JWT (PyJWT does the cryptography): allowed algorithm, signature, iss, aud, exp, nbf, iat."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jwt
from jwt.exceptions import InvalidAudienceError, InvalidIssuerError, InvalidTokenError, MissingRequiredClaimError

from reconciler.identity.errors import TokenRejected

MAX_TOKEN_LENGTH = 16 * 1024


def looks_like_jwt(token: str) -> bool:
    """Three dot-separated base64url parts (a JWS compact serialisation)."""
    return token.count(".") == 2 and len(token) <= MAX_TOKEN_LENGTH


def read_header(token: str, allowed: Sequence[str]) -> tuple[str, str | None]:
    """(alg, kid) of an unverified token header, refusing any algorithm not in allowed ('none', HS* ...)."""
    if len(token) > MAX_TOKEN_LENGTH:
        raise TokenRejected("token longer than 16 KiB")
    try:
        header = jwt.get_unverified_header(token)
    except InvalidTokenError as exc:
        raise TokenRejected(f"not a JWT: {exc}") from exc
    alg = header.get("alg")
    kid = header.get("kid")
    if not isinstance(alg, str) or alg not in allowed:
        raise TokenRejected(f"algorithm {alg!r} is not accepted (accepted: {', '.join(allowed)})")
    if kid is not None and not isinstance(kid, str):
        raise TokenRejected("the token's kid is not a string")
    return alg, kid


def check_signature(token: str, key: Any, alg: str, *, issuer: str, audience: str | None,
                    required: Sequence[str] = ("exp", "iat", "iss", "sub")) -> dict[str, Any]:
    """The claims of a token whose signature verifies with key, issued by issuer for audience (None: no aud check).

    Time claims are checked apart (check_times) so the clock can be injected.
    """
    options: Any = {"verify_signature": True, "verify_exp": False, "verify_nbf": False, "verify_iat": False,
                    "verify_aud": audience is not None, "verify_iss": True, "require": list(required)}
    try:
        return jwt.decode(token, key=key, algorithms=[alg], issuer=issuer, audience=audience, options=options)
    except InvalidAudienceError as exc:
        raise TokenRejected(f"the token is for another audience (expected {audience!r}): tokens are not passed "
                            "through from other services") from exc
    except InvalidIssuerError as exc:
        raise TokenRejected(f"the token was issued by someone else (expected issuer {issuer!r})") from exc
    except MissingRequiredClaimError as exc:
        raise TokenRejected(f"the token lacks the '{exc.claim}' claim") from exc
    except InvalidTokenError as exc:
        raise TokenRejected(f"{type(exc).__name__}: {exc}") from exc


def _number(claims: dict[str, Any], name: str) -> float | None:
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TokenRejected(f"the '{name}' claim is not a number")
    return float(value)


def check_times(claims: dict[str, Any], now: float, skew: float) -> None:
    """Refuse an expired token, one not yet valid (nbf), or one issued in the future (iat), allowing skew seconds."""
    exp, nbf, iat = _number(claims, "exp"), _number(claims, "nbf"), _number(claims, "iat")
    if exp is not None and now - skew >= exp:
        raise TokenRejected(f"the token expired {int(now - exp)} s ago")
    if nbf is not None and now + skew < nbf:
        raise TokenRejected(f"the token is not valid for another {int(nbf - now)} s (nbf)")
    if iat is not None and now + skew < iat:
        raise TokenRejected("the token claims to be issued in the future (iat)")
