"""The REST API under /api/v1: one router per area, each route through `reconciler.service`."""

from __future__ import annotations

from fastapi import APIRouter

from reconciler.web.api import drift, drills, lab, proposals, records, resources, runs, tokens


def api_router() -> APIRouter:
    """Every /api/v1 route."""
    router = APIRouter()
    for module in (lab, resources, runs, drift, proposals, records, drills, tokens):
        router.include_router(module.router)
    return router
