"""HTTPS to a vetted IP: the TLS server name and the certificate check still use the URL's host."""

import datetime
import ssl
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from notifications.webhooks import webhook_post

HOST = "hooks.example.test"


@pytest.fixture
def tls_receiver(tmp_path, monkeypatch, settings, public_dns):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, HOST)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key()).serial_number(1)
        .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(HOST)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    seen: dict[str, str] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            seen["host"] = self.headers["host"]
            self.rfile.read(int(self.headers["content-length"]))
            self.send_response(200)
            self.send_header("content-length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    context.sni_callback = lambda sock, server_name, ctx: seen.__setitem__("sni", server_name)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()

    # Every name resolves to the receiver's address; trust its self-signed certificate.
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = True
    public_dns[HOST] = ["127.0.0.1"]
    public_dns["other.example.test"] = ["127.0.0.1"]
    original = requests.Session.request

    def request(self, *args, **kwargs):
        kwargs["verify"] = str(cert_path)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(requests.Session, "request", request)
    yield server.server_address[1], seen
    server.shutdown()
    server.server_close()


def test_https_goes_to_the_vetted_address_with_the_hosts_name(tls_receiver):
    port, seen = tls_receiver
    response = webhook_post(url=f"https://{HOST}:{port}/in", headers={}, body="{}")
    assert response.status_code == 200 and response.error == ""
    assert seen == {"sni": HOST, "host": f"{HOST}:{port}"}


def test_a_certificate_for_another_name_is_refused(tls_receiver):
    port, seen = tls_receiver
    response = webhook_post(url=f"https://other.example.test:{port}/in", headers={}, body="{}")
    assert response.status_code is None and "doesn't match" in response.error
    assert "host" not in seen
