"""A real S3 API for the tests: moto in server mode, a subprocess on a random local port, standing in for AWS."""

import contextlib
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from django.core.files.storage import storages


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def moto_server():
    """Start moto's server and yield its endpoint; stop it on the way out (skips the test without moto[server])."""
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


@contextlib.contextmanager
def s3_bucket(endpoint: str, bucket: str, settings, monkeypatch, storages_setting: dict):
    """A fresh bucket on ``endpoint`` with the AWS_* settings pointing at it and ``storages_setting`` merged into
    STORAGES; yields a boto3 client, empties and deletes the bucket afterwards."""
    import boto3

    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                          aws_access_key_id="testing", aws_secret_access_key="testing")
    client.create_bucket(Bucket=bucket)
    settings.AWS_STORAGE_BUCKET_NAME = bucket
    settings.AWS_S3_ENDPOINT_URL = endpoint
    settings.AWS_S3_REGION_NAME = "us-east-1"
    settings.AWS_S3_ACCESS_KEY_ID = "testing"
    settings.AWS_S3_SECRET_ACCESS_KEY = "testing"
    settings.AWS_S3_ADDRESSING_STYLE = "path"
    settings.STORAGES = {**settings.STORAGES, **storages_setting}
    # setting_changed resets these too; said again so a test does not lean on that
    storages._backends = None
    storages._storages = {}
    try:
        yield client
    finally:
        for item in client.list_objects_v2(Bucket=bucket).get("Contents", []):
            client.delete_object(Bucket=bucket, Key=item["Key"])
        client.delete_bucket(Bucket=bucket)
        storages._backends = None
        storages._storages = {}
