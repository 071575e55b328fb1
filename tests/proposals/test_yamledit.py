"""Round-trip YAML edits keep comments, key order, flow style and the other documents of a file."""

from __future__ import annotations

import pytest

from reconciler.proposals.yamledit import YamlEditError, edit_document, merge_map, new_document, set_path

TWO_DOCS = b"""\
# header comment
apiVersion: homelab.ai/v1
kind: UniversalResource
metadata:
  name: web   # the web app
spec:
  pool: /infrastructure/a
  requirements: {cpu: 2, memory_gb: 4}   # sized by hand
  dimensions:
    tier: silver
---
apiVersion: homelab.ai/v1
kind: UniversalResource
metadata: {name: db}
spec:
  pool: /infrastructure/a
"""


def test_edit_keeps_comments_order_and_other_documents() -> None:
    """Only the named document changes; comments and flow style survive."""
    out = edit_document(TWO_DOCS, "UniversalResource", "web",
                        lambda d: set_path(d, ["spec", "requirements", "cpu"], 6), path="r.yaml").decode()
    assert out.startswith("# header comment\n")
    assert "name: web   # the web app" in out
    assert "requirements: {cpu: 6, memory_gb: 4}   # sized by hand" in out
    assert out.index("metadata:") < out.index("spec:") < out.index("requirements")
    assert "metadata: {name: db}" in out and out.count("---") == 1


def test_merge_and_replace_dimensions() -> None:
    """merge adds and removes (None) keys; replace drops keys not sent."""
    merged = edit_document(TWO_DOCS, "UniversalResource", "web",
                           lambda d: merge_map(d, ["spec", "dimensions"], {"owner": "ann"})).decode()
    assert "tier: silver" in merged and "owner: ann" in merged
    replaced = edit_document(TWO_DOCS, "UniversalResource", "web",
                             lambda d: merge_map(d, ["spec", "dimensions"], {"owner": "ann"}, replace=True)).decode()
    assert "tier" not in replaced and "owner: ann" in replaced
    removed = edit_document(TWO_DOCS, "UniversalResource", "web",
                            lambda d: merge_map(d, ["spec", "dimensions"], {"tier": None})).decode()
    assert "tier" not in removed


def test_missing_object_and_malformed_file() -> None:
    """Clear errors name the file and the object."""
    with pytest.raises(YamlEditError, match=r"r\.yaml holds no UniversalResource named 'ghost'"):
        edit_document(TWO_DOCS, "UniversalResource", "ghost", lambda d: None, path="r.yaml")
    with pytest.raises(YamlEditError, match="cannot be parsed"):
        edit_document(b"a: [1, 2\n", "UniversalResource", "x", lambda d: None, path="r.yaml")


def test_new_document_is_block_style_with_header() -> None:
    """New files are readable block YAML with an optional comment on top."""
    text = new_document({"apiVersion": "homelab.ai/v1", "kind": "UniversalResource", "metadata": {"name": "x"},
                         "spec": {"requirements": {"cpu": 1}}}, header="Proposed by an agent").decode()
    assert text.startswith("# Proposed by an agent\napiVersion: homelab.ai/v1\n")
    assert "  requirements:\n    cpu: 1\n" in text
