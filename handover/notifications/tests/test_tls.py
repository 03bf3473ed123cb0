"""Webhooks over https: the client connects to the address it checked, and still verifies
the certificate against the URL's host name."""

import datetime as dt
import ssl
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from handover.notifications.models import Channel, Outbox, OutboxState
from handover.notifications.services import outbox_send_due
from handover.notifications.tests.conftest import Endpoint, serving
from handover.testing.steps import ok, paid_order


def self_signed(folder: Path, name: str) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.fixture
def https_endpoint(tmp_path):
    cert, key = self_signed(tmp_path, "localhost")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    with serving(Endpoint(), tls=context) as endpoint:
        yield endpoint, cert


def webhook_row() -> Outbox:
    return Outbox.objects.get(channel=Channel.WEBHOOK)


def test_an_https_endpoint_with_an_untrusted_certificate_is_not_called(
    offer, seller_api, buyer_api, https_endpoint
):
    endpoint, _ = https_endpoint
    ok(seller_api.post("/webhooks", {"url": endpoint.url, "events": ["order.transition"]}), 201)
    paid_order(buyer_api, offer)
    outbox_send_due()
    row = webhook_row()
    assert row.state == OutboxState.PENDING and "CERTIFICATE_VERIFY_FAILED" in row.last_error
    assert endpoint.received == []


def test_an_https_endpoint_is_reached_at_the_checked_address_under_its_name(
    monkeypatch, offer, seller_api, buyer_api, https_endpoint
):
    endpoint, cert = https_endpoint
    trusting = ssl.create_default_context(cafile=str(cert))
    monkeypatch.setattr(ssl, "_create_default_https_context", lambda: trusting)
    secret = ok(
        seller_api.post("/webhooks", {"url": endpoint.url, "events": ["order.transition"]}), 201
    )["secret"]
    paid_order(buyer_api, offer)
    outbox_send_due()
    assert webhook_row().state == OutboxState.SENT
    [received] = endpoint.received
    assert received.signed_with(secret)
    assert received.headers["Host"].startswith("localhost:")
