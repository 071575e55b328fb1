"""Provider docs match the code: each docs/providers/<type>.md carries the settings reference generated from
the provider's settings model and the fields its code reads (`make docs` regenerates it), and every setting
has one spelling."""

from __future__ import annotations

import pytest

from reconciler.models.lab import ProviderConfig
from reconciler.providers.reference import BEGIN, END, fields_read, options_model, reference_markdown
from reconciler.providers.registry import PROVIDER_MODULES
from tests.render.lab import ROOT

DOCUMENTED = sorted(t for t in PROVIDER_MODULES if t != "sim")


@pytest.mark.parametrize("provider_type", sorted(PROVIDER_MODULES))
def test_provider_page_lists_what_the_code_reads(provider_type: str) -> None:
    page = (ROOT / "docs" / "providers" / f"{provider_type}.md").read_text(encoding="utf-8")
    assert BEGIN in page and END in page, f"docs/providers/{provider_type}.md has no settings reference: make docs"
    section = BEGIN + page.split(BEGIN, 1)[1].split(END, 1)[0] + END + "\n"
    assert section == reference_markdown(provider_type), "the page is out of date with the code: run `make docs`"


@pytest.mark.parametrize("provider_type", DOCUMENTED)
def test_one_spelling_per_setting(provider_type: str) -> None:
    """No option repeats a provider field (as `options.endpoint_url` once did beside `endpoint:`). The sim is
    left out: its `options.nodes` is the simulated hardware, a different setting from `nodes:`."""
    options = set(options_model(provider_type).model_fields)
    assert not options & set(ProviderConfig.model_fields), options & set(ProviderConfig.model_fields)


def test_reads_are_found_in_the_code() -> None:
    config, creds = fields_read("proxmox")
    assert "endpoint" in config and {"token_id_env", "token_secret_env", "ssh_key_file"} <= set(creds)
    config, creds = fields_read("vmware")
    assert {"username", "username_env", "password_env"} <= set(creds)
