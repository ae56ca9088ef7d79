"""Uploads go to S3 when AWS_STORAGE_BUCKET_NAME and AWS_S3_ENDPOINT_URL are set.

A real S3 API (moto in server mode, a subprocess on a random local port) stands in for AWS.
"""

import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from django.core.files.storage import default_storage, storages

from catalog.models import ProductImage
from tests.factories import image_upload

pytestmark = [pytest.mark.django_db, pytest.mark.integration]
BUCKET = "catalog-test-media"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def s3_endpoint():
    pytest.importorskip("moto.server", reason="moto[server] is not installed")
    port = _free_port()
    process = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1)  # noqa: S310 - a local test server
                break
            except Exception:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("moto server did not start")
                time.sleep(0.2)
        yield endpoint
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def s3_storage(s3_endpoint, settings, monkeypatch):
    import boto3

    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1",
                          aws_access_key_id="testing", aws_secret_access_key="testing")
    client.create_bucket(Bucket=BUCKET)
    settings.AWS_STORAGE_BUCKET_NAME = BUCKET
    settings.AWS_S3_ENDPOINT_URL = s3_endpoint
    settings.AWS_S3_REGION_NAME = "us-east-1"
    settings.AWS_S3_ACCESS_KEY_ID = "testing"
    settings.AWS_S3_SECRET_ACCESS_KEY = "testing"
    settings.AWS_S3_ADDRESSING_STYLE = "path"
    settings.AWS_QUERYSTRING_AUTH = False
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "storages.backends.s3.S3Storage"}}
    # setting_changed resets these too; said again so the test does not lean on that
    storages._backends = None
    storages._storages = {}
    default_storage._setup()
    yield client
    objects = client.list_objects_v2(Bucket=BUCKET).get("Contents", [])
    for item in objects:
        client.delete_object(Bucket=BUCKET, Key=item["Key"])
    client.delete_bucket(Bucket=BUCKET)


def test_image_upload_goes_to_the_bucket(s3_storage, s3_endpoint, store, client_for, product_factory):
    from storages.backends.s3 import S3Storage

    assert isinstance(storages["default"], S3Storage)
    product = product_factory(store=store)
    response = client_for(store.owner).post(f"/api/v1/stores/{store.slug}/products/{product.pk}/images",
                                            {"file": image_upload("cat.png")}, format="multipart")
    assert response.status_code == 201, response.json()
    image = ProductImage.objects.get()
    keys = [item["Key"] for item in s3_storage.list_objects_v2(Bucket=BUCKET).get("Contents", [])]
    assert keys == [image.image.name]
    head = s3_storage.head_object(Bucket=BUCKET, Key=image.image.name)
    assert head["ContentLength"] > 0
    url = response.json()["data"]["url"]
    assert url.startswith(f"{s3_endpoint}/{BUCKET}/catalog/{store.pk}/")
    assert url.endswith(image.image.name)
    stored = s3_storage.get_object(Bucket=BUCKET, Key=image.image.name)["Body"].read()
    assert stored[:8] == b"\x89PNG\r\n\x1a\n"  # the re-encoded image, not the upload's bytes
