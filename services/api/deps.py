"""FastAPI dependencies: the process's adapters (from app state) and the caller's identity.

All are `async def`: none blocks, and FastAPI would run a plain `def` dependency on a worker thread.
"""

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request, Security, status
from fastapi.security import APIKeyHeader
from pymongo.asynchronous.database import AsyncDatabase

from services.api.gateway import BrokerGateway, JobEvents
from services.api.security import Caller, key_matches, service_key_for
from services.api.settings import ApiSettings
from services.signing import UrlSigner
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


UserIdHeader = Annotated[
    str | None,
    Header(min_length=1, max_length=64, description="The user a service key acts for (see the key's `users`)."),
]


async def get_caller(
    context: Context,
    x_api_key: ApiKey = None,
    x_user_id: UserIdHeader = None,
) -> Caller:
    return authenticate(context.settings, x_api_key, x_user_id)


def authenticate(settings: ApiSettings, x_api_key: str | None, x_user_id: str | None = None) -> Caller:
    """The caller behind an API key: 401 without a valid key, 403 for a user its service may not act for."""
    if not x_api_key:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "missing X-API-Key header")
    service = service_key_for(x_api_key, settings.api_keys)
    if key_matches(x_api_key, settings.admin_keys):
        return Caller(user_id=x_user_id or "admin", is_admin=True, for_user=x_user_id is not None)
    if service is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "invalid API key")
    if x_user_id is None:
        return Caller(user_id=service.owner, is_admin=False, user_prefix=service.user_prefix)
    if not x_user_id.startswith(service.user_prefix):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            f"X-User-Id: the {service.owner} key acts only for user ids starting with '{service.user_prefix}'",
        )
    return Caller(user_id=x_user_id, is_admin=False, user_prefix=service.user_prefix, for_user=True)


CurrentCaller = Annotated[Caller, Depends(get_caller)]


async def require_admin(caller: CurrentCaller) -> Caller:
    if not caller.is_admin:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "this endpoint needs an admin key")
    return caller


AdminCaller = Annotated[Caller, Depends(require_admin)]


async def public_base_url(request: Request, context: Context) -> str:
    return context.settings.public_url or str(request.base_url)


BaseUrl = Annotated[str, Depends(public_base_url)]
