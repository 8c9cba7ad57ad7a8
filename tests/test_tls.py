"""TLS failures become ApiConnectionError / ImageDownloadError messages, never an AttributeError.

Two real servers on 127.0.0.1: one speaking HTTPS with a self-signed certificate (what an
intercepting proxy looks like), and the simulator, which speaks plain HTTP, reached with https://.
"""
from __future__ import annotations

import datetime
import ipaddress
import shutil
import socket
import ssl
import subprocess
import threading
from http.server import BaseHTTPRequestHandler

import pytest

from apiframe_magic import ApiframeClient
from apiframe_magic.errors import ApiConnectionError
from apiframe_magic.images import ImageCache, ImageDownloadError
from localserver import local_server


def _self_signed(directory):
    """(cert.pem, key.pem) for 127.0.0.1, made with `cryptography`, else the openssl command."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    try:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID
    except ImportError:
        if shutil.which("openssl") is None:
            pytest.skip("needs the cryptography package or the openssl command")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj",
                        "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                        "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
        return cert, key
    private = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(private.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(
            [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .sign(private, hashes.SHA256()))
    cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key.write_bytes(private.private_bytes(serialization.Encoding.PEM,
                                          serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    return cert, key


class _Recorder(BaseHTTPRequestHandler):
    """Answers like the service would; counts every request that got through TLS."""

    requests_seen: list = []

    def log_message(self, *args):
        pass

    def _answer(self):
        self.requests_seen.append(self.path)
        body = b'{"task_id": "x"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer


@pytest.fixture
def self_signed_server(tmp_path):
    cert, key = _self_signed(tmp_path)
    _Recorder.requests_seen = []
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    with local_server(_Recorder, context) as url:
        yield url, cert


def test_a_self_signed_certificate_is_a_connection_error_that_says_nothing_was_sent(
        self_signed_server):
    url, _ = self_signed_server
    with ApiframeClient("key-for-the-tls-test", base_url=url, backoff=0.01) as client:
        with pytest.raises(ApiConnectionError) as submit:
            client.imagine("a cat")
        with pytest.raises(ApiConnectionError) as read:
            client.account()
    for error in (submit.value, read.value):
        text = str(error)
        assert "TLS/certificate problem with 127.0.0.1:" in text
        assert "self-signed certificate" in text and "nothing was sent" in text
        assert "REQUESTS_CA_BUNDLE" in text and "key-for-the-tls-test" not in text
    assert submit.value.maybe_created is False
    assert _Recorder.requests_seen == []


def test_the_same_server_works_once_its_certificate_is_trusted(self_signed_server, monkeypatch):
    """Control: the failure above is the certificate, not the server."""
    url, cert = self_signed_server
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert))
    with ApiframeClient("key-for-the-tls-test", base_url=url) as client:
        assert client.imagine("a cat") == "x"
    assert _Recorder.requests_seen == ["/imagine"]


def test_https_to_a_plain_http_port_says_to_use_http(sim):
    url = sim.url.replace("http://", "https://")
    with ApiframeClient(sim.api_key, base_url=url, backoff=0.01) as client:
        with pytest.raises(ApiConnectionError) as submit:
            client.imagine("a cat")
        with pytest.raises(ApiConnectionError) as read:
            client.fetch("some-task")
    for error in (submit.value, read.value):
        assert "TLS/certificate problem" in str(error) and "use http://" in str(error)
        assert "nothing was sent" in str(error)
    assert submit.value.maybe_created is False
    assert sim.tasks_created == 0


def test_the_image_cache_reports_tls_problems_as_download_errors(self_signed_server, sim,
                                                                  tmp_path):
    url, _ = self_signed_server
    with ImageCache(tmp_path / "cache") as cache:
        with pytest.raises(ImageDownloadError, match="TLS/certificate problem with 127.0.0.1:.*"
                                                     "self-signed certificate"):
            cache.get(url + "/images/a.png")
        plain = sim.url.replace("http://", "https://") + "/images/a.png"
        with pytest.raises(ImageDownloadError, match="use http://"):
            cache.get(plain)


@pytest.fixture
def silent_server():
    """Accepts TCP connections and never says a word (a proxy holding the handshake)."""
    listener = socket.create_server(("127.0.0.1", 0), backlog=50)
    held = []

    def accept():
        while True:
            try:
                held.append(listener.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    yield f"https://127.0.0.1:{listener.getsockname()[1]}", held
    listener.close()
    for connection in held:
        connection.close()


def test_a_handshake_that_never_completes_says_nothing_was_sent(silent_server):
    url, held = silent_server
    with ApiframeClient("key-for-the-tls-test", base_url=url, timeout=(0.5, 0.5),
                        read_retries=0) as client:
        with pytest.raises(ApiConnectionError) as info:
            client.imagine("a cat")
    assert held  # the TCP connection was made: only the TLS handshake hung
    assert "TLS handshake" in str(info.value) and "nothing was sent" in str(info.value)
    assert info.value.maybe_created is False
