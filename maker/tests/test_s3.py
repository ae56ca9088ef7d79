"""With S3 configured, a model goes straight to the bucket through a presigned PUT (moto's server stands in for AWS)."""

import pytest
import requests

from maker.models import Upload
from tests.s3 import moto_server, s3_bucket

from .models3d import box_triangles, stl_binary

pytestmark = [pytest.mark.django_db, pytest.mark.integration]
BUCKET = "maker-test-media"


@pytest.fixture(scope="module")
def s3_endpoint():
    with moto_server() as endpoint:
        yield endpoint


@pytest.fixture
def s3_maker_storage(s3_endpoint, settings, monkeypatch):
    maker = {"maker": {"BACKEND": "storages.backends.s3.S3Storage",
                       "OPTIONS": {"location": "maker-uploads", "default_acl": "private", "querystring_auth": True,
                                   "file_overwrite": True}}}
    with s3_bucket(s3_endpoint, BUCKET, settings, monkeypatch, maker) as client:
        yield client


def test_a_model_is_put_to_the_bucket_by_presigned_url(api, store, s3_maker_storage, s3_endpoint,
                                                       django_capture_on_commit_callbacks):
    stl = stl_binary(box_triangles(10))
    # when the client asks where to put it
    signed = api.post(f"/api/v1/stores/{store.slug}/uploads/sign", {"filename": "cube.stl", "size": len(stl)},
                      format="json")
    assert signed.status_code == 201, signed.json()
    answer = signed.json()["data"]
    # then the URL is the bucket's own, presigned
    assert answer["url"].startswith(f"{s3_endpoint}/{BUCKET}/maker-uploads/{store.pk}/")
    assert "Signature" in answer["url"] or "X-Amz-Signature" in answer["url"]
    # and the client PUTs straight to it
    put = requests.put(answer["url"], data=stl, headers=answer["headers"], timeout=10)
    assert put.status_code == 200, put.text
    upload = Upload.objects.get()
    key = f"maker-uploads/{upload.storage_name}"
    assert s3_maker_storage.head_object(Bucket=BUCKET, Key=key)["ContentLength"] == len(stl)
    # and complete reads it back from the bucket, checks and measures it
    with django_capture_on_commit_callbacks(execute=True):
        completed = api.post(f"/api/v1/stores/{store.slug}/uploads/{upload.pk}/complete", format="json")
    assert completed.status_code == 202, completed.json()
    upload.refresh_from_db()
    assert (upload.status, upload.format, upload.triangle_count) == ("ready", "stl", 12)
