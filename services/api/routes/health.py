"""Liveness, readiness, and the broker contract as AsyncAPI."""

from fastapi import APIRouter, Response, status
from fastapi.responses import JSONResponse

from services.api.contract import asyncapi_json
from services.api.deps import Context
from services.errors import BrokerUnavailable

router = APIRouter(tags=["health"])


@router.get("/health/live")
async def live() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/health/ready")
async def ready(context: Context) -> JSONResponse:
    checks: dict[str, str] = {}
    try:
        await context.gateway.check(timeout_s=2)
        checks["rabbitmq"] = "ok"
    except BrokerUnavailable as error:
        checks["rabbitmq"] = str(error)
    try:
        await context.db.command("ping")
        checks["mongodb"] = "ok"
    except Exception as error:  # readiness reports any failure as not ready
        checks["mongodb"] = f"{type(error).__name__}: {error}"
    try:
        await context.store.list_keys("health/")
        checks["s3"] = "ok"
    except Exception as error:
        checks["s3"] = f"{type(error).__name__}: {error}"
    ok = all(value == "ok" for value in checks.values())
    code = status.HTTP_200_OK if ok else status.HTTP_503_SERVICE_UNAVAILABLE
    return JSONResponse({"status": "ready" if ok else "not ready", "checks": checks}, status_code=code)


@router.get("/asyncapi.json", include_in_schema=False)
async def asyncapi() -> Response:
    return Response(asyncapi_json(), media_type="application/json")
