"""Image bytes served by nginx instead of Python: X-Accel-Redirect to a presigned URL of the private bucket.

With `accel_redirect_prefix` set (compose: `/_s3`), a read the API has authorised is answered with an empty body
and `X-Accel-Redirect: /_s3/<s3 host>/<bucket>/<key>?<presigned query>`; nginx's internal location of that
prefix proxies the presigned URL (infra/nginx/nginx.conf). Without it (local development) the API streams the
bytes itself.
"""

from urllib.parse import urlsplit

from fastapi import Response

from services.storage.s3 import ObjectStore

PRESIGNED_TTL_S = 60  # nginx follows the redirect at once; the URL needs to live only that long


def accel_redirect(prefix: str, store: ObjectStore, key: str, headers: dict[str, str] | None = None) -> Response:
    """The empty answer nginx replaces with the object's bytes (and S3's Content-Type and Content-Length)."""
    url = urlsplit(store.presigned_get(key, PRESIGNED_TTL_S))
    target = f"{prefix}/{url.netloc}{url.path}" + (f"?{url.query}" if url.query else "")
    # Content-Type left empty: nginx takes the upstream's.
    return Response(headers={**(headers or {}), "X-Accel-Redirect": target})
