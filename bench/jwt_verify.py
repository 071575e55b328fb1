"""Benchmark: verifying a JWT access token whose signing key is already cached (the path every MCP/API request takes).

Serves discovery + JWKS from a real HTTP server on 127.0.0.1 (tests/backends/oidc.py's KeyServer), warms the
verifier once (discovery and JWKS fetched), then times `OidcVerifier.verify` on RS256 and ES256 tokens: signature,
iss, aud, exp/nbf/iat and the claims -> scopes mapping. Quality bar: p50 <= 0.2 ms.

    .venv/bin/python bench/jwt_verify.py [--count 5000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from reconciler.identity.verifier import OidcVerifier  # noqa: E402
from reconciler.models.identity import OidcConfig  # noqa: E402
from tests.backends.oidc import KeyServer  # noqa: E402

AUDIENCE = "https://homeport.test/mcp"


async def measure(verifier: OidcVerifier, token: str, count: int) -> list[float]:
    """Per-call durations in milliseconds."""
    await verifier.verify(token)  # warm: discovery + JWKS fetched, key prepared
    durations = []
    for _ in range(count):
        start = time.perf_counter()
        await verifier.verify(token)
        durations.append((time.perf_counter() - start) * 1000)
    return durations


def main() -> None:
    """Run the benchmark and print p50/p95 per algorithm."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=5000)
    args = parser.parse_args()
    results = {}
    with KeyServer() as server:
        config = OidcConfig.model_validate({"issuer": server.issuer, "audience": AUDIENCE,
                                            "groups": {"homelab-agents": ["read", "propose"]}})
        for alg, kid in (("RS256", "rsa-1"), ("ES256", "ec-1")):
            verifier = OidcVerifier(config)
            token = server.mint(alg=alg, kid=kid, aud=AUDIENCE, exp=int(time.time()) + 3600,
                                groups=["homelab-agents"])
            durations = sorted(asyncio.run(measure(verifier, token, args.count)))
            results[alg] = {"p50_ms": round(statistics.median(durations), 4),
                            "p95_ms": round(durations[int(len(durations) * 0.95)], 4),
                            "jwks_fetches": server.jwks_hits}
    for alg, figures in results.items():
        print(f"{alg}: cached-key JWT verification p50 {figures['p50_ms']:.4f} ms, p95 {figures['p95_ms']:.4f} ms "
              f"({args.count} tokens)")
    print(json.dumps({"count": args.count, "results": results}))
    worst = max(f["p50_ms"] for f in results.values())
    print(f"quality bar p50 <= 0.2 ms: {'met' if worst <= 0.2 else 'NOT met'} (worst p50 {worst:.4f} ms)")


if __name__ == "__main__":
    main()
