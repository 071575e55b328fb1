"""Credentials by reference: which homeport.yaml fields seem to hold a secret (table test; values never shown)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from reconciler.identity.errors import ConfigurationError
from reconciler.identity.secret_refs import literal_secret_warnings, read_client_secret
from reconciler.models.identity import OidcConfig
from reconciler.models.lab import Lab
from tests.backends.homeport_lab import make_lab


def _lab(spec: dict[str, Any]) -> Lab:
    return Lab.model_validate({"apiVersion": "homelab.ai/v1", "kind": "Lab", "metadata": {"name": "home"},
                               "spec": {"providers": {"lab": {"type": "sim"}}, **spec}})


CLEAN = {
    "providers": {
        "pve": {"type": "proxmox", "endpoint": "https://pve1.lan:8006",
                "credentials": {"token_id_env": "PVE_TOKEN_ID", "token_secret_env": "PVE_TOKEN_SECRET"}},
        "vc": {"type": "vmware", "credentials": {"password_file": "/etc/homeport/vc-password"}},
        "az": {"type": "azure", "options": {"subscription_id": "0b1f6a3e-5c2d-4e7f-9a8b-1c2d3e4f5a6b"}},
    },
    "proposals": {"forge": {"type": "github", "repo": "me/lab", "token_env": "GITHUB_TOKEN"}},
    "notifications": [{"url": "https://ntfy.sh/homeport-alerts", "format": "ntfy", "token_env": "NTFY_TOKEN"}],
    "identity": {"oidc": {"issuer": "https://auth.lan", "client_id": "homeport",
                          "client_secret_file": "/etc/homeport/oidc-secret"}},
}

CASES = [
    ("secret pasted into an _env field",
     {"providers": {"pve": {"type": "proxmox",
                            "credentials": {"token_secret_env": "9f8e7d6c5b4a39281706f5e4d3c2b1a0"}}}},
     "spec.providers.pve.credentials.token_secret_env"),
    ("a GitHub token where the variable name goes",
     {"proposals": {"forge": {"type": "github", "repo": "me/lab", "token_env": "ghp_" + "a1B2" * 9}}},
     "spec.proposals.forge.token_env"),
    ("an AWS key id in a _file field",
     {"providers": {"pve": {"type": "proxmox", "credentials": {"token_secret_file": "AKIAIOSFODNN7EXAMPLE"}}}},
     "spec.providers.pve.credentials.token_secret_file"),
    ("a password in provider options",
     {"providers": {"vc": {"type": "vmware", "options": {"password": "hunter2"}}}},
     "spec.providers.vc.options.password"),
    ("a password in an endpoint URL",
     {"providers": {"nas": {"type": "docker", "endpoint": "https://admin:hunter2@nas.lan:2376"}}},
     "spec.providers.nas.endpoint"),
    ("a token in a notification URL's query",
     {"notifications": [{"url": "https://gotify.lan/message?token=AbC123dEf456", "format": "gotify"}]},
     "spec.notifications[0].url"),
    ("an OIDC client secret pasted into client_secret_env",
     {"identity": {"oidc": {"issuer": "https://auth.lan", "client_id": "homeport",
                            "client_secret_env": "xY7-kP2_qR9+mN4/vB8=wL1"}}},
     "spec.identity.oidc.client_secret_env"),
    ("a JWT in a nested option",
     {"providers": {"k8s": {"type": "kubernetes", "options": {"auth": {"bearer": "eyJhbGciOiJSUzI1NiJ9."
                                                                                 "eyJzdWIiOiJhZG1pbiJ9.c2ln"}}}}},
     "spec.providers.k8s.options.auth.bearer"),
]


def test_references_raise_no_warning() -> None:
    """Environment variable names, paths, ids and plain URLs are references, not secrets."""
    assert literal_secret_warnings(_lab(CLEAN)) == []


@pytest.mark.parametrize(("case", "spec", "field"), CASES, ids=[c[0] for c in CASES])
def test_literal_secrets_are_named_without_their_value(case: str, spec: dict[str, Any], field: str) -> None:
    """Each literal secret is reported by field path, with advice, and the value is never repeated."""
    warnings = literal_secret_warnings(_lab(spec))
    assert [w.field for w in warnings] == [field], case
    text = str(warnings[0])
    assert text.startswith(f"homeport.yaml: {field}: ")
    for secret in ("hunter2", "9f8e7d6c5b4a", "AKIAIOSFODNN7", "a1B2a1B2", "AbC123dEf456", "xY7-kP2", "eyJhbGci"):
        assert secret not in text


def test_client_secret_read_by_reference(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The OIDC client secret comes from its variable, else its file; a missing variable is a named error."""
    base = {"issuer": "https://auth.lan", "client_id": "homeport"}
    monkeypatch.setenv("OIDC_SECRET", "from-env")
    assert read_client_secret(OidcConfig.model_validate({**base, "client_secret_env": "OIDC_SECRET"})) == "from-env"
    (tmp_path / "secret").write_text("from-file\n")
    assert read_client_secret(OidcConfig.model_validate({**base, "client_secret_file": str(tmp_path / "secret")})) \
        == "from-file"
    monkeypatch.delenv("OIDC_SECRET")
    with pytest.raises(ConfigurationError, match="OIDC_SECRET is not set"):
        read_client_secret(OidcConfig.model_validate({**base, "client_secret_env": "OIDC_SECRET"}))


@pytest.mark.parametrize(("oidc", "message"), [
    ({"issuer": "http://auth.lan"}, "uses http"),
    ({"issuer": "https://auth.lan", "algorithms": ["HS256"]}, "no HS"),
    ({"issuer": "https://auth.lan", "algorithms": ["none"]}, "no 'none'"),
    ({"issuer": "https://auth.lan", "access_tokens": "introspection"}, "needs client_id"),
    ({"issuer": "https://auth.lan", "groups": {"admins": ["root"]}}, "groups.admins"),
])
def test_bad_identity_config_is_a_named_error(oidc: dict[str, Any], message: str) -> None:
    """Mistakes in identity.oidc are refused when the lab loads, naming the field."""
    with pytest.raises(ValueError) as info:
        _lab({"identity": {"oidc": oidc}})
    assert message in str(info.value)


def test_homeport_validate_warns_without_printing_the_secret(tmp_path: Path) -> None:
    """`homeport validate` on a lab whose homeport.yaml holds a pasted secret: a warning naming the field, exit 0
    (a warning, not a problem), and the value appears nowhere in the output (text or JSON)."""
    lab = make_lab(tmp_path / "lab", apply=False)
    config = lab / "homeport.yaml"
    pasted = "9f8e7d6c5b4a39281706f5e4d3c2b1a0"
    config.write_text(config.read_text(encoding="utf-8").replace("token_secret_env: PVE_TOKEN_SECRET",
                                                                 f"token_secret_env: {pasted}"), encoding="utf-8")
    subprocess.run(["git", "-C", str(lab), "-c", "user.name=t", "-c", "user.email=t@example.test", "commit", "-qam",
                    "oops"], check=True)
    homeport = str(Path(sys.executable).parent / "homeport")
    text = subprocess.run([homeport, "validate", "--lab", str(lab)], capture_output=True, text=True, check=False,
                          env={**os.environ, "COLUMNS": "400"})
    assert text.returncode == 0, text.stdout + text.stderr
    assert "warning: homeport.yaml: spec.providers.pve.credentials.token_secret_env: should name an environment " \
           "variable" in text.stdout
    as_json = subprocess.run([homeport, "validate", "--lab", str(lab), "--output", "json"], capture_output=True,
                             text=True, check=False)
    assert as_json.returncode == 0
    warnings = json.loads(as_json.stdout)["warnings"]
    assert [w.split(":")[1].strip() for w in warnings] == ["spec.providers.pve.credentials.token_secret_env"]
    assert pasted not in text.stdout + text.stderr + as_json.stdout + as_json.stderr
