"""The docker provider's settings: which engine serves which node, and how to reach it (pure).

A lab names its engines in the provider's `options.engines`, one per node::

    providers:
      docker-hosts:
        type: docker
        nodes: [nas, pi]
        options:
          engines:
            nas: "ssh://admin@nas.lan"                 # over SSH (the ssh client's own config and agent)
            pi: "unix:///var/run/docker.sock"          # local socket
            edge:                                       # TCP with mutual TLS, files by reference
              endpoint: "tcp://10.0.0.5:2376"
              tls: {ca_file: /etc/homeport/docker-ca.pem, cert_file: /etc/homeport/docker-cert.pem,
                    key_file: /etc/homeport/docker-key.pem}
            gpu-box:                                    # an engine with NVIDIA GPUs (container toolkit set up)
              endpoint: "ssh://admin@gpu-box.lan"
              gpus: [{id: "0", model: "RTX 3090"}]      # what placement may give containers asking for a GPU
          wait_timeout: 120                             # seconds `up --wait` may take

A single engine may be given as the provider's `endpoint` instead; its node is `nodes[0]`, or the
provider's name when no node is listed.

`options.mode: swarm` makes the one engine a swarm manager: each resource is deployed as a stack
(`docker stack deploy`), `high_availability` runs `deploy.replicas` spread over the swarm's nodes, and
the swarm is one node to homeport's placement (the swarm schedules the tasks).
"""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field

from reconciler.models.lab import ProviderConfig
from reconciler.providers.errors import PermanentProviderError

SCHEMES = ("unix", "ssh", "tcp", "npipe")
DEFAULT_WAIT_TIMEOUT = 120


class TlsFiles(BaseModel):
    """Paths of the CA, client certificate and client key for a tcp:// engine (never their contents)."""

    model_config = ConfigDict(frozen=True)

    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    verify: bool = True


class EngineGpu(BaseModel):
    """A GPU an engine can hand to containers (NVIDIA container toolkit or CDI), as the lab declares it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(description="Device id as Docker names it (`nvidia-smi -L` index or UUID, or a CDI name)")
    model: str = Field(default="", description="GPU model, matched by a resource's requirements.gpu_model")


class EngineSpec(BaseModel):
    """One Docker engine: the node name homeport places on and the endpoint that reaches it."""

    model_config = ConfigDict(frozen=True)

    node: str
    endpoint: str
    tls: TlsFiles | None = None
    gpus: tuple[EngineGpu, ...] = Field(
        default=(), description="GPUs containers may be given (Docker's info does not count NVIDIA GPUs; CDI "
                                "devices it discovers are added)")

    @property
    def scheme(self) -> str:
        """unix, ssh, tcp or npipe."""
        return urlsplit(self.endpoint).scheme

    def display(self) -> str:
        """The endpoint without any user:password part, for messages."""
        parts = urlsplit(self.endpoint)
        host = parts.hostname or ""
        if parts.port:
            host = f"{host}:{parts.port}"
        if parts.scheme == "unix":
            return f"unix://{parts.path}"
        user = f"{parts.username}@" if parts.username else ""
        return f"{parts.scheme}://{user}{host}{parts.path if parts.path not in ('', '/') else ''}"


class DockerSettings(BaseModel):
    """Everything the docker provider reads from its ProviderConfig (options as a pydantic model)."""

    model_config = ConfigDict(frozen=True)

    engines: dict[str, EngineSpec] = Field(
        description='One Docker engine per node: endpoint (unix://, ssh://, tcp://) and optional tls')
    wait_timeout: int = Field(default=DEFAULT_WAIT_TIMEOUT,
        description='Seconds `docker compose up --wait` may take for health checks')
    api_version: str = Field(default="auto", description='Docker API version, or auto')
    detail_ttl: int = Field(default=3600,
        description='Seconds before a container is inspected again though its listing is unchanged')
    mode: Literal["engine", "swarm"] = Field(default="engine",
        description='engine: each resource is a Compose project on one engine (high_availability: members '
                    '<name>-1..N on different engines); swarm: the one engine is a swarm manager, each resource '
                    'a stack (`docker stack deploy`, needs the docker CLI) and high_availability runs '
                    'deploy.replicas (3, or deployment.replicas if more) spread over the swarm nodes')


def _problem(provider: str, what: str) -> PermanentProviderError:
    return PermanentProviderError(f"docker provider {provider!r}: {what}")


def _check_endpoint(provider: str, node: str, endpoint: object) -> str:
    if not isinstance(endpoint, str) or not endpoint:
        raise _problem(
            provider,
            f"engine {node!r} needs an endpoint such as unix:///var/run/docker.sock, "
            "ssh://user@host or tcp://host:2376",
        )
    parts = urlsplit(endpoint)
    if parts.scheme not in SCHEMES:
        raise _problem(
            provider,
            f"engine {node!r} endpoint {endpoint!r} must start with " + ", ".join(f"{s}://" for s in SCHEMES),
        )
    if parts.password:
        raise _problem(
            provider,
            f"engine {node!r}: do not put a password in the endpoint; "
            "use an SSH key (ssh-agent or ~/.ssh/config) or TLS client certificates",
        )
    if parts.scheme == "unix" and not parts.path:
        raise _problem(provider, f"engine {node!r} endpoint {endpoint!r} has no socket path")
    if parts.scheme in ("ssh", "tcp") and not parts.hostname:
        raise _problem(provider, f"engine {node!r} endpoint {endpoint!r} has no host")
    return endpoint


def _tls(provider: str, node: str, raw: object, config: ProviderConfig) -> TlsFiles | None:
    if raw is None:
        if config.ca_file or not config.verify_tls:
            return TlsFiles(ca_file=config.ca_file, verify=config.verify_tls)
        return None
    if not isinstance(raw, dict):
        raise _problem(provider, f"engine {node!r}: tls must be a mapping with ca_file, cert_file, key_file")
    unknown = sorted(set(raw) - {"ca_file", "cert_file", "key_file", "verify"})
    if unknown:
        raise _problem(
            provider,
            f"engine {node!r}: unknown tls settings {', '.join(unknown)} (known: ca_file, cert_file, key_file, verify)",
        )
    files = {k: raw.get(k) for k in ("ca_file", "cert_file", "key_file")}
    for key, value in files.items():
        if value is not None and not isinstance(value, str):
            raise _problem(provider, f"engine {node!r}: tls.{key} must be a file path")
    if bool(files["cert_file"]) != bool(files["key_file"]):
        raise _problem(provider, f"engine {node!r}: tls.cert_file and tls.key_file go together")
    verify = raw.get("verify", config.verify_tls)
    return TlsFiles(
        ca_file=files["ca_file"] or config.ca_file,
        cert_file=files["cert_file"],
        key_file=files["key_file"],
        verify=bool(verify),
    )


def _gpus(provider: str, node: str, raw: object) -> tuple[EngineGpu, ...]:
    """`gpus:` of an engine: a list of {id, model}, or of model names (ids 0, 1, ...)."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise _problem(provider, f"engine {node!r}: gpus must be a list such as [{{id: \"0\", model: RTX 3090}}]")
    out = []
    for index, item in enumerate(raw):
        if isinstance(item, str):
            out.append(EngineGpu(id=str(index), model=item))
            continue
        if not isinstance(item, dict) or not isinstance(item.get("id"), str | int) or isinstance(item.get("id"), bool):
            raise _problem(provider, f"engine {node!r}: gpus[{index}] needs an id (the device id Docker uses)")
        unknown = sorted(set(item) - {"id", "model"})
        if unknown:
            raise _problem(provider, f"engine {node!r}: gpus[{index}]: unknown keys {', '.join(unknown)} "
                                     "(known: id, model)")
        out.append(EngineGpu(id=str(item["id"]), model=str(item.get("model") or "")))
    ids = [g.id for g in out]
    if len(set(ids)) != len(ids):
        raise _problem(provider, f"engine {node!r}: gpus lists an id twice")
    return tuple(out)


def _int_option(provider: str, options: dict[str, Any], key: str, default: int) -> int:
    value = options.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _problem(provider, f"options.{key} must be a whole number of seconds, not {value!r}")
    return value


def docker_settings(provider: str, config: ProviderConfig) -> DockerSettings:
    """Parse and check a docker ProviderConfig; every error names the setting and how to fix it."""
    options = dict(config.options)
    known = {"engines", "wait_timeout", "api_version", "detail_ttl", "mode"}
    unknown = sorted(set(options) - known)
    if unknown:
        raise _problem(provider, f"unknown options {', '.join(unknown)} (known: {', '.join(sorted(known))})")
    if config.credentials.ssh_key_file:
        raise _problem(
            provider,
            "credentials.ssh_key_file is not used by the docker provider: name the key in "
            "~/.ssh/config (IdentityFile) for the engine's host or load it into ssh-agent",
        )
    raw_engines = options.get("engines")
    engines: dict[str, EngineSpec] = {}
    if raw_engines is not None:
        if not isinstance(raw_engines, dict) or not raw_engines:
            raise _problem(provider, "options.engines must map node names to endpoints")
        if config.endpoint:
            raise _problem(provider, "give either endpoint (one engine) or options.engines, not both")
        for node, raw in raw_engines.items():
            node = str(node)
            gpus: tuple[EngineGpu, ...] = ()
            if isinstance(raw, dict):
                unknown = sorted(set(raw) - {"endpoint", "tls", "gpus"})
                if unknown:
                    raise _problem(
                        provider,
                        f"engine {node!r}: unknown settings {', '.join(unknown)} (known: endpoint, tls, gpus)",
                    )
                endpoint = _check_endpoint(provider, node, raw.get("endpoint"))
                tls = _tls(provider, node, raw.get("tls"), config)
                gpus = _gpus(provider, node, raw.get("gpus"))
            else:
                endpoint = _check_endpoint(provider, node, raw)
                tls = _tls(provider, node, None, config)
            engines[node] = EngineSpec(
                node=node, endpoint=endpoint, tls=tls if urlsplit(endpoint).scheme == "tcp" else None, gpus=gpus
            )
    elif config.endpoint:
        if len(config.nodes) > 1:
            raise _problem(
                provider,
                f"endpoint names one engine but nodes lists {len(config.nodes)}; "
                "list each node's endpoint under options.engines",
            )
        node = config.nodes[0] if config.nodes else provider
        endpoint = _check_endpoint(provider, node, config.endpoint)
        tls = _tls(provider, node, None, config)
        engines[node] = EngineSpec(
            node=node, endpoint=endpoint, tls=tls if urlsplit(endpoint).scheme == "tcp" else None
        )
    else:
        raise _problem(provider, "no engine: set endpoint, or options.engines with one endpoint per node")
    missing = [n for n in config.nodes if n not in engines]
    if missing:
        raise _problem(provider, f"nodes {', '.join(missing)} have no endpoint in options.engines")
    mode = options.get("mode", "engine")
    if mode not in ("engine", "swarm"):
        raise _problem(provider, f"options.mode must be engine or swarm, not {mode!r}")
    if mode == "swarm" and len(engines) != 1:
        raise _problem(
            provider,
            f"options.mode swarm talks to one swarm manager, but {len(engines)} engines are configured: "
            "give the manager's endpoint only (the swarm places tasks on its nodes)",
        )
    api_version = options.get("api_version", "auto")
    if not isinstance(api_version, str):
        raise _problem(provider, "options.api_version must be text such as '1.41' or 'auto'")
    return DockerSettings(
        engines=engines,
        wait_timeout=_int_option(provider, options, "wait_timeout", DEFAULT_WAIT_TIMEOUT),
        api_version=api_version,
        detail_ttl=_int_option(provider, options, "detail_ttl", 3600),
        mode=mode,
    )


OPTIONS_MODEL = DockerSettings  # what `options:` in homeport.yaml accepts (docs/providers/*.md are generated from it)
