"""Proposals: a branch with one commit editing the desired-state YAML, plus a stored plan preview."""
