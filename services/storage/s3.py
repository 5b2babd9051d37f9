"""S3 through boto3: a private bucket of images, datasets and adapters, keyed deterministically."""

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from services.settings import CommonSettings
from services.storage.errors import InvalidObjectKey, ObjectNotFound, StoreUnavailable

_NOT_FOUND_CODES = {"NoSuchKey", "404", "NotFound"}


def image_key(job_id: str, index: int, extension: str = "png") -> str:
    return f"images/{job_id}/{index}.{extension}"


@dataclass
class StoredObject:
    body: bytes
    content_type: str
    etag: str


@contextmanager
def _translated_errors(key: str) -> Iterator[None]:
    try:
        yield
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        http_status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        if code in _NOT_FOUND_CODES:
            raise ObjectNotFound(key) from error
        if http_status == 400:  # the request itself was refused (a malformed key): retrying cannot help
            raise InvalidObjectKey(f"S3 refused the key {key!r}: {code}") from error
        raise StoreUnavailable(f"S3 error on {key}: {code}") from error
    except BotoCoreError as error:
        raise StoreUnavailable(f"S3 unreachable for {key}: {error}") from error


class ObjectStore:
    """Async face over a boto3 client; each call runs in a worker thread (boto3 clients are thread-safe)."""

    def __init__(self, client, bucket: str) -> None:
        self._client = client
        self.bucket = bucket

    @classmethod
    def from_settings(cls, settings: CommonSettings) -> "ObjectStore":
        client = boto3.client(
            "s3",
            endpoint_url=settings.s3_endpoint,
            region_name=settings.s3_region,
            aws_access_key_id=settings.s3_access_key,
            aws_secret_access_key=settings.s3_secret_key.get_secret_value(),
            config=Config(
                s3={"addressing_style": "path"},
                retries={"max_attempts": 2, "mode": "standard"},
                connect_timeout=3,
                read_timeout=30,
                max_pool_connections=32,
                # Checksums only where an operation requires one: the default CRC on every upload costs
                # time, and S3-compatible stores vary in supporting it.
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
            ),
        )
        return cls(client, settings.s3_bucket)

    def presigned_get(self, key: str, expires_s: int = 60) -> str:
        """A URL that reads `key` without credentials for `expires_s` (computed locally: no request is made)."""
        return self._client.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=expires_s
        )

    async def ensure_bucket(self) -> None:
        def create() -> None:
            with _translated_errors(self.bucket):
                try:
                    self._client.head_bucket(Bucket=self.bucket)
                except ClientError as error:
                    if error.response.get("Error", {}).get("Code") not in _NOT_FOUND_CODES | {"NoSuchBucket"}:
                        raise
                    self._client.create_bucket(Bucket=self.bucket)

        await asyncio.to_thread(create)

    async def put(self, key: str, body: bytes, content_type: str = "application/octet-stream") -> None:
        def put() -> None:
            with _translated_errors(key):
                self._client.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType=content_type)

        await asyncio.to_thread(put)

    async def get(self, key: str) -> StoredObject:
        def get() -> StoredObject:
            with _translated_errors(key):
                response = self._client.get_object(Bucket=self.bucket, Key=key)
                return StoredObject(
                    body=response["Body"].read(),
                    content_type=response.get("ContentType", "application/octet-stream"),
                    etag=response.get("ETag", "").strip('"'),
                )

        return await asyncio.to_thread(get)

    async def exists(self, key: str) -> bool:
        def head() -> bool:
            try:
                with _translated_errors(key):
                    self._client.head_object(Bucket=self.bucket, Key=key)
            except ObjectNotFound:
                return False
            return True

        return await asyncio.to_thread(head)

    async def delete(self, key: str) -> None:
        def delete() -> None:
            with _translated_errors(key):
                self._client.delete_object(Bucket=self.bucket, Key=key)

        await asyncio.to_thread(delete)

    async def list_keys(self, prefix: str) -> list[str]:
        def list_keys() -> list[str]:
            keys: list[str] = []
            with _translated_errors(prefix):
                paginator = self._client.get_paginator("list_objects_v2")
                for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
                    keys.extend(item["Key"] for item in page.get("Contents", []))
            return keys

        return await asyncio.to_thread(list_keys)
