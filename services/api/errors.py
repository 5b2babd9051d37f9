"""One shape for every 422: FastAPI's own list of `{type, loc, msg, input}`, whoever found the problem."""

from typing import Any

from fastapi import HTTPException, Request, status
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, ValidationError


class ErrorBody(BaseModel):
    """Every error but a 422: what went wrong, in words that fit the request."""

    detail: str
    code: str | None = Field(
        default=None,
        description="On refusals a client may word itself (in its user's language): the reason's stable name, "
        "e.g. `job-ended` or `nothing-to-train`.",
    )
    values: dict[str, str] | None = Field(default=None, description="What that reason names, e.g. `status`.")


class Refusal(HTTPException):
    """A refusal on the request's merits with a stable `code` (and the `values` it names) beside its English
    `detail`, so that a client speaking another language (the bot) can tell it in its own words."""

    def __init__(self, status_code: int, code: str, detail: str, **values: str) -> None:
        super().__init__(status_code, detail)
        self.code = code
        self.values = values


async def refusal_response(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, Refusal)
    body = ErrorBody(detail=str(error.detail), code=error.code, values=error.values or None)
    return JSONResponse(body.model_dump(exclude_none=True), status_code=error.status_code, headers=error.headers)


def unprocessable(field: str | None, message: str, where: str = "body") -> HTTPException:
    """A 422 naming `field` (dotted, e.g. `params.height`) in `where` (body, query, path)."""
    loc = [where, *field.split(".")] if field else [where]
    return HTTPException(
        status.HTTP_422_UNPROCESSABLE_CONTENT, [{"type": "value_error", "loc": loc, "msg": message, "input": None}]
    )


def unprocessable_from(error: ValidationError, where: str = "body") -> HTTPException:
    """A 422 from a model validated inside a route, as FastAPI reports its own."""
    details: list[dict[str, Any]] = [
        {"type": item["type"], "loc": [where, *item["loc"]], "msg": item["msg"], "input": item.get("input")}
        for item in error.errors()
    ]
    return HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, jsonable_encoder(details))


def field_of(message: str) -> tuple[str | None, str]:
    """Our messages start with the field they are about (`name: must be ...`): split it off."""
    field, sep, rest = message.partition(": ")
    if sep and field and " " not in field:
        return field, rest
    return None, message


# Answers every operation may give, documented once for the OpenAPI schema.
COMMON_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "The body could not be parsed (not JSON, or not the form it should be)."},
    401: {"model": ErrorBody, "description": "No API key, or an unknown one."},
    403: {
        "model": ErrorBody,
        "description": "X-User-Id names a user this key may not act for, or the operation needs an admin key.",
    },
    413: {"model": ErrorBody, "description": "The request body is over the size limit."},
    503: {"model": ErrorBody, "description": "RabbitMQ or a store cannot be reached; retry after `Retry-After`."},
}


def refusals(**descriptions: str) -> dict[int | str, dict[str, Any]]:
    """An operation's own error answers for the OpenAPI schema: `refusals(not_found="No job with that id.")`."""
    codes = {"bad_request": 400, "forbidden": 403, "not_found": 404, "conflict": 409, "bad_gateway": 502}
    return {codes[name]: {"model": ErrorBody, "description": text} for name, text in descriptions.items()}
