"""The Secret `<name>-secrets` a resource's `service.secret_env` asks for, filled at apply time.

Values come from environment variables on the reconciler host and go only to the API server: never
into rendered files, plans, logs or the database.
"""

from __future__ import annotations

from typing import Any

from reconciler.models.effective import EffectiveResource
from reconciler.providers.errors import PermanentProviderError
from reconciler.providers.secrets import read_secret


def secret_manifest(resource: EffectiveResource, namespace: str) -> dict[str, Any] | None:
    """The Secret manifest, or None when the resource has no secret variables."""
    wanted = resource.service.secret_env
    if not wanted:
        return None
    data: dict[str, str] = {}
    for key, env in sorted(wanted.items()):
        value = read_secret(env=env, what=f"{resource.name}: service.secret_env.{key}")
        if value is None:
            raise PermanentProviderError(
                f"{resource.name}: service.secret_env.{key}: environment variable {env} is empty"
            )
        data[key] = value
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": {"name": f"{resource.name}-secrets", "namespace": namespace},
        "stringData": data,
    }
