"""Uploads go to S3 when AWS_STORAGE_BUCKET_NAME and AWS_S3_ENDPOINT_URL are set.

A real S3 API (moto in server mode, a subprocess on a random local port) stands in for AWS.
"""

import pytest
from django.core.files.storage import default_storage, storages

from catalog.models import ProductImage
from tests.factories import image_upload
from tests.s3 import moto_server, s3_bucket

pytestmark = [pytest.mark.django_db, pytest.mark.integration]
BUCKET = "catalog-test-media"


@pytest.fixture(scope="module")
def s3_endpoint():
    with moto_server() as endpoint:
        yield endpoint


@pytest.fixture
def s3_storage(s3_endpoint, settings, monkeypatch):
    settings.AWS_QUERYSTRING_AUTH = False
    default = {"default": {"BACKEND": "storages.backends.s3.S3Storage"}}
    with s3_bucket(s3_endpoint, BUCKET, settings, monkeypatch, default) as client:
        default_storage._setup()
        yield client


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
