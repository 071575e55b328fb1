"""The Kubernetes provider's options (homeport.yaml `providers.<name>`), checked with clear errors.

Three ways to reach a cluster, credentials always by reference:
- `options.kubeconfig` (+ `options.context`): a kubeconfig file, as kubectl uses it;
- `options.in_cluster: true`: the service account homeport runs as inside the cluster;
- `endpoint` + `credentials.token_secret_env` / `token_secret_file` (+ `ca_file`): a bearer token.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from reconciler.models.lab import ProviderConfig
from reconciler.providers.errors import PermanentProviderError
from reconciler.providers.secrets import read_secret

FIELD_MANAGER = "homeport"


class KubernetesOptions(BaseModel):
    """`options:` of a kubernetes provider."""

    model_config = ConfigDict(extra="forbid")

    kubeconfig: str | None = Field(default=None, description="Path of a kubeconfig file (~ allowed)")
    context: str | None = Field(default=None, description="Context in the kubeconfig; its current-context if unset")
    in_cluster: bool = Field(default=False, description="Use the pod's service account (homeport runs in the cluster)")
    namespace: str = Field(default="default", description="Namespace for manifests that name none")
    namespaces: list[str] = Field(
        default_factory=list,
        description="Observe only these namespaces (one list per kind per namespace); empty: one cluster-wide "
        "list per kind",
    )
    create_namespaces: bool = Field(default=True, description="Create a manifest's namespace when it is missing")
    report_unmanaged: bool = Field(
        default=False,
        description="Also list Deployments and StatefulSets homeport does not manage (two more lists per cycle), "
        "reported as unmanaged and never touched",
    )
    request_timeout: float = Field(default=30.0, gt=0, description="Seconds per API request")
    gpu_resource: str = Field(default="nvidia.com/gpu", description="Extended resource counted as GPUs")
    conflicts: Literal["self_heal", "never", "always"] = Field(
        default="self_heal",
        description="When a field owned by another manager is taken back with a forced apply: when the "
        "resource's sync.self_heal is true (default), never, or always",
    )


class KubernetesSettings(BaseModel):
    """Where the cluster is and how to authenticate (the token itself never appears in repr or logs)."""

    model_config = ConfigDict(frozen=True)

    provider: str
    options: KubernetesOptions
    endpoint: str | None = None
    ca_file: str | None = None
    verify_tls: bool = True
    token: str | None = Field(default=None, repr=False)

    @property
    def source(self) -> str:
        """How the cluster is reached, for messages (never the token)."""
        if self.options.in_cluster:
            return "in-cluster service account"
        if self.token is not None:
            return f"{self.endpoint} with a bearer token"
        where = self.options.kubeconfig or "~/.kube/config"
        return f"kubeconfig {where}" + (f" context {self.options.context}" if self.options.context else "")


def load_settings(name: str, config: ProviderConfig) -> KubernetesSettings:
    """Settings from a provider entry; a PermanentProviderError naming the field and the fix when wrong."""
    where = f"providers.{name}"
    try:
        options = KubernetesOptions.model_validate(config.options)
    except ValidationError as exc:
        problems = "; ".join(
            f"{where}.options.{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise PermanentProviderError(problems) from None
    creds = config.credentials
    token = read_secret(env=creds.token_secret_env, file=creds.token_secret_file, what=f"{where}.credentials.token")
    if token is not None and not config.endpoint:
        raise PermanentProviderError(
            f"{where}: a bearer token needs endpoint (the API server URL, e.g. https://k8s.lan:6443)"
        )
    if token is not None and (options.kubeconfig or options.in_cluster):
        raise PermanentProviderError(
            f"{where}: choose one way in: a token (credentials.token_secret_env), options.kubeconfig or "
            "options.in_cluster"
        )
    if options.kubeconfig and options.in_cluster:
        raise PermanentProviderError(f"{where}: options.kubeconfig and options.in_cluster exclude each other")
    if options.kubeconfig and not Path(options.kubeconfig).expanduser().is_file():
        raise PermanentProviderError(
            f"{where}.options.kubeconfig: {options.kubeconfig} is not a file; point it at a kubeconfig "
            "(kubectl config view --raw > file)"
        )
    if config.endpoint and not config.endpoint.startswith(("https://", "http://")):
        raise PermanentProviderError(f"{where}.endpoint {config.endpoint!r} is not a URL: write https://host:6443")
    return KubernetesSettings(
        provider=name,
        options=options,
        endpoint=config.endpoint,
        ca_file=config.ca_file,
        verify_tls=config.verify_tls,
        token=token,
    )


# what `options:` in homeport.yaml accepts (docs/providers/*.md are generated from it)
OPTIONS_MODEL = KubernetesOptions
