"""Where customers' models are written: the private ``maker`` storage (settings.STORAGES).

With S3 the client PUTs straight to the bucket through a presigned URL that fixes the object's key, its
Content-Length (the size the client declared, itself under MAKER_UPLOAD_MAX_BYTES) and the expiry. In the embedded
default (local files) the URL is our own endpoint (``PUT …/uploads/{id}/file?token=…``) with a token signed by
SECRET_KEY that names the upload and expires as the S3 one does; that endpoint writes through Django's storage API.
Either way ``complete`` then reads the object back and checks its size and content itself.
"""

from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.core.files.base import ContentFile
from django.core.files.storage import storages

TOKEN_SALT = "maker.upload"


@dataclass(frozen=True)
class SignedPut:
    url: str  # absolute (S3) or a path of this API (local)
    headers: dict[str, str]
    expires_in: int


def maker_storage():
    return storages["maker"]


def _s3(storage):
    """(boto3 client, bucket, key prefixer) when ``storage`` is django-storages' S3Storage, else None."""
    try:
        from storages.backends.s3 import S3Storage
    except ImportError:  # pragma: no cover - django-storages is a runtime requirement
        return None
    return storage if isinstance(storage, S3Storage) else None


def put_sign(*, name: str, size: int, upload_id, local_path: str) -> SignedPut:
    """A URL the client may PUT exactly ``size`` bytes to, for MAKER_UPLOAD_URL_SECONDS: the bucket's presigned PUT
    on S3, else ``local_path`` with a signed token."""
    seconds = settings.MAKER_UPLOAD_URL_SECONDS
    headers = {"Content-Type": "application/octet-stream", "Content-Length": str(size)}
    storage = maker_storage()
    s3 = _s3(storage)
    if s3 is not None:
        url = s3.connection.meta.client.generate_presigned_url(
            "put_object", ExpiresIn=seconds, HttpMethod="PUT",
            Params={"Bucket": s3.bucket_name, "Key": s3._normalize_name(name), "ContentLength": size,
                    "ContentType": "application/octet-stream"})
        return SignedPut(url=url, headers=headers, expires_in=seconds)
    token = signing.dumps({"upload": str(upload_id), "size": size}, salt=TOKEN_SALT, compress=True)
    return SignedPut(url=f"{local_path}?token={token}", headers=headers, expires_in=seconds)


def put_token_read(token: str) -> dict | None:
    """What a local upload token says ({upload, size}) while it is valid, else None."""
    try:
        return signing.loads(token or "", salt=TOKEN_SALT, max_age=settings.MAKER_UPLOAD_URL_SECONDS)
    except signing.BadSignature:  # SignatureExpired included
        return None


def file_write(*, name: str, data: bytes) -> None:
    """Writes ``data`` at ``name`` (replacing what a previous PUT wrote there)."""
    storage = maker_storage()
    if storage.exists(name):
        storage.delete(name)
    storage.save(name, ContentFile(data))


def file_size(name: str) -> int | None:
    """The stored object's size, or None when nothing was uploaded."""
    storage = maker_storage()
    try:
        return storage.size(name)
    except (FileNotFoundError, OSError):
        return None
    except Exception as exc:  # botocore's ClientError (404) when the object is not in the bucket
        if type(exc).__name__ == "ClientError":
            return None
        raise


def file_read(name: str, *, limit: int) -> bytes:
    """At most ``limit`` + 1 bytes of the stored object (one more than allowed shows it is too large)."""
    with maker_storage().open(name, "rb") as handle:
        return handle.read(limit + 1)


def file_delete(name: str) -> None:
    maker_storage().delete(name)
