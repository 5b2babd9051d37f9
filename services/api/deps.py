"""FastAPI dependencies: the process's adapters (from app state) and the caller's identity.

All are `async def`: none blocks, and FastAPI would run a plain `def` dependency on a worker thread.
"""

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request, Security, status
from fastapi.security import APIKeyHeader
from pymongo.asynchronous.database import AsyncDatabase

from services.api.gateway import BrokerGateway, JobEvents
from services.api.security import Caller, UrlSigner, key_matches
from services.api.settings import ApiSettings
from services.storage.jobs import JobRepository
from services.storage.s3 import ObjectStore


@dataclass
class ApiContext:
    """Everything the API's routes use, assembled once by create_app."""

    settings: ApiSettings
    gateway: BrokerGateway
    job_events: JobEvents
    db: AsyncDatabase
    store: ObjectStore
    signer: UrlSigner

    @property
    def jobs(self) -> JobRepository:
        return JobRepository(self.db)


async def get_context(request: Request) -> ApiContext:
    return request.app.state.context


Context = Annotated[ApiContext, Depends(get_context)]


# One security scheme in the OpenAPI document (one Authorize button in /docs), not a header per operation.
# auto_error=False: a missing key is answered by `authenticate`, with the same 401 as a wrong one.
API_KEY = APIKeyHeader(name="X-API-Key", description="An API key or an admin key.", auto_error=False)
ApiKey = Annotated[str | None, Security(API_KEY)]


async def get_caller(
    context: Context,
    x_api_key: ApiKey = None,
    x_user_id: Annotated[
        str | None, Header(max_length=64, description="The user an internal service acts for.")
    ] = None,
) -> Caller:
    return authenticate(context.settings, x_api_key, x_user_id)


def authenticate(settings: ApiSettings, x_api_key: str | None, x_user_id: str | None = None) -> Caller:
    """The caller behind an API key, or 401."""
    if not x_api_key:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "missing X-API-Key header")
    is_admin = key_matches(x_api_key, settings.admin_keys)
    if not is_admin and not key_matches(x_api_key, settings.api_keys):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "invalid API key")
    return Caller(user_id=x_user_id or ("admin" if is_admin else "api"), is_admin=is_admin)


CurrentCaller = Annotated[Caller, Depends(get_caller)]


async def require_admin(caller: CurrentCaller) -> Caller:
    if not caller.is_admin:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "this endpoint needs an admin key")
    return caller


AdminCaller = Annotated[Caller, Depends(require_admin)]


async def public_base_url(request: Request, context: Context) -> str:
    return context.settings.public_url or str(request.base_url)


BaseUrl = Annotated[str, Depends(public_base_url)]
