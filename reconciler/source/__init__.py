"""Desired state from Git: commits read through pygit2, YAML loaded, validated and resolved."""
