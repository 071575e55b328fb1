"""The REST API (/api/v1, OpenAPI 3.1) and the web UI for people, served by the daemon or `homeport serve`.

Every route and page goes through `reconciler.service` and `reconciler.models` only (import-linter checks it).
"""
