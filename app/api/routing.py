"""How routers are mounted: operation ids, and account routers under both authentications."""

from collections.abc import Callable

from fastapi import APIRouter, Depends, FastAPI
from fastapi.routing import APIRoute

from app.api.deps import authenticate_with_api_key, authenticate_with_jwt

API_PREFIX = "/api/v1"
DASHBOARD_SUFFIX = "_dashboard"


def operation_id(route: APIRoute) -> str:
    """The OpenAPI operationId is the route function's name: `simulate`, `get_simulation`."""
    return route.name


def dashboard_operation_id(route: APIRoute) -> str:
    return route.name + DASHBOARD_SUFFIX


def _mounted(
    template: APIRouter, *, prefix: str, authenticate: Callable, unique_id: Callable
) -> APIRouter:
    """A copy of `template`'s routes under `prefix`, each behind `authenticate`.

    Copied rather than `include_router(prefix=...)`-ed: FastAPI then leaves the un-prefixed
    route in the request scope, and the call log and metrics need the full route template.
    """
    mounted = APIRouter(
        prefix=prefix, dependencies=[Depends(authenticate)], generate_unique_id_function=unique_id
    )
    for route in template.routes:
        assert isinstance(route, APIRoute), "account routers hold API routes only"
        mounted.add_api_route(
            route.path,
            route.endpoint,
            methods=route.methods,
            name=route.name,
            response_model=route.response_model,
            status_code=route.status_code,
            tags=route.tags,
            dependencies=route.dependencies,
            summary=route.summary,
            description=route.description,
            response_description=route.response_description,
            responses=route.responses,
            deprecated=route.deprecated,
            include_in_schema=route.include_in_schema,
            response_class=route.response_class,
            openapi_extra=route.openapi_extra,
        )
    return mounted


def include_account_router(app: FastAPI, router: APIRouter) -> None:
    """Mount a router whose routes use `CurrentAccount` twice: for scripts under /api/v1 with
    X-API-Key, and for the dashboard without the prefix with a JWT (operation ids end in
    `_dashboard`). `/api/v1/simulations/{id}` with a key is `/simulations/{id}` with a JWT."""
    app.include_router(
        _mounted(
            router,
            prefix=API_PREFIX,
            authenticate=authenticate_with_api_key,
            unique_id=operation_id,
        )
    )
    app.include_router(
        _mounted(
            router, prefix="", authenticate=authenticate_with_jwt, unique_id=dashboard_operation_id
        )
    )
