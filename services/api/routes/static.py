"""`GET /static/{key}`: objects from the private bucket, for a signed link or an API key."""

import re
from typing import Annotated

from fastapi import APIRouter, Header, HTTPException, Path, Query, Response, status

from services.api.accel import accel_redirect
from services.api.deps import ApiContext, ApiKey, Context, UserIdHeader, authenticate
from services.api.errors import refusals
from services.api.security import Caller
from services.storage.errors import InvalidObjectKey, ObjectNotFound

router = APIRouter(tags=["static"])

_SERVED_PREFIXES = ("images/", "training/", "datasets/", "drive/")
# Every key the service writes is made of these characters; anything else is a malformed request.
_KEY_CHARACTERS = re.compile(r"[A-Za-z0-9._/-]+")


@router.get(
    "/static/{key:path}",
    responses={
        200: {"content": {"image/png": {}}},
        304: {"description": "Not modified since the `If-None-Match` ETag."},
        **refusals(bad_request="A character no object key has.", not_found="No such object readable by this caller."),
    },
)
async def static_object(
    key: Annotated[str, Path(json_schema_extra={"pattern": f"^{_KEY_CHARACTERS.pattern}$"})],
    context: Context,
    expires: Annotated[int | None, Query()] = None,
    sig: Annotated[str | None, Query(max_length=128)] = None,
    x_api_key: ApiKey = None,
    x_user_id: UserIdHeader = None,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    # Authenticate first: an anonymous caller learns nothing, not even which keys are never served.
    signed = expires is not None and sig is not None and context.signer.verify(key, expires, sig)
    if signed:
        _check_key(key)
    else:
        caller = authenticate(context.settings, x_api_key, x_user_id)  # raises 401 without a valid key
        _check_key(key)
        await _may_read(context, caller, key)
    if context.settings.accel_redirect_prefix:  # nginx streams it (its ETag and 304 come from S3)
        cache = {"Cache-Control": "private, max-age=86400, immutable"}
        return accel_redirect(context.settings.accel_redirect_prefix, context.store, key, cache)
    try:
        stored = await context.store.get(key)
    except (ObjectNotFound, InvalidObjectKey):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no object {key}") from None
    headers = {"ETag": f'"{stored.etag}"', "Cache-Control": "private, max-age=86400, immutable"}
    if if_none_match and stored.etag and if_none_match.strip('"') == stored.etag:
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers=headers)
    return Response(stored.body, media_type=stored.content_type, headers=headers)


def _check_key(key: str) -> None:
    """400 for characters no key has; 404 for a key outside the served prefixes or naming a folder."""
    if not _KEY_CHARACTERS.fullmatch(key):
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST, "key: only letters, digits and '.', '_', '-', '/' appear in object keys"
        )
    segments = key.split("/")
    if not key.startswith(_SERVED_PREFIXES) or any(segment in ("", ".", "..") for segment in segments):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no object {key}")


async def _may_read(context: ApiContext, caller: Caller, key: str) -> None:
    """With a key rather than a signed link: training and dataset files are for admins, an image for the
    user whose job drew it. Others get the same 404 as for a missing object: they learn nothing."""
    if caller.is_admin:
        return
    if key.startswith("images/"):
        record = await context.jobs.get(key.split("/")[1])
        if record is not None and caller.may_read(record.requester.user_id):
            return
    raise HTTPException(status.HTTP_404_NOT_FOUND, f"no object {key}")
