"""With S3 configured, a model goes straight to the bucket through a presigned PUT (moto's server stands in for AWS)."""

import socket
import subprocess
import sys
import time
import urllib.request

import pytest
import requests
from django.core.files.storage import storages

from maker.models import Upload

from .models3d import box_triangles, stl_binary

pytestmark = [pytest.mark.django_db, pytest.mark.integration]
BUCKET = "maker-test-media"


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
def s3_maker_storage(s3_endpoint, settings, monkeypatch):
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
    settings.STORAGES = {**settings.STORAGES, "maker": {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {"location": "maker-uploads", "default_acl": "private", "querystring_auth": True,
                    "file_overwrite": True}}}
    storages._backends = None
    storages._storages = {}
    yield client
    for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        client.delete_object(Bucket=BUCKET, Key=item["Key"])
    client.delete_bucket(Bucket=BUCKET)
    storages._backends = None
    storages._storages = {}


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
