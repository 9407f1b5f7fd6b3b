"""Certificates for the TLS tests, made at test time with trustme (no key is ever committed)."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path

import pytest
import trustme


@dataclass
class CertFiles:
    """PEM files of one CA and a server certificate for localhost and 127.0.0.1."""

    ca: Path
    cert: Path
    key: Path
    client_cert: Path  # a client certificate and its key, one file


@pytest.fixture(scope="session")
def ca() -> trustme.CA:
    """A throwaway certificate authority."""
    return trustme.CA()


@pytest.fixture(scope="session")
def server_cert(ca: trustme.CA) -> trustme.LeafCert:
    """A server certificate for localhost, 127.0.0.1 and ::1."""
    return ca.issue_cert("localhost", "127.0.0.1", "::1")


@pytest.fixture
def server_ctx(server_cert: trustme.LeafCert) -> ssl.SSLContext:
    """A fresh server context with that certificate."""
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_cert.configure_cert(ctx)
    return ctx


@pytest.fixture
def client_ctx(ca: trustme.CA) -> ssl.SSLContext:
    """A client context trusting the CA (host names checked)."""
    ctx = ssl.create_default_context()
    ca.configure_trust(ctx)
    return ctx


@pytest.fixture
def cert_files(tmp_path: Path, ca: trustme.CA, server_cert: trustme.LeafCert) -> CertFiles:
    """The CA, certificate and key as files, for the CLI and real clients."""
    files = CertFiles(
        tmp_path / "ca.pem", tmp_path / "cert.pem", tmp_path / "key.pem", tmp_path / "client.pem"
    )
    ca.cert_pem.write_to_path(str(files.ca))
    server_cert.cert_chain_pems[0].write_to_path(str(files.cert))
    for pem in server_cert.cert_chain_pems[1:]:
        pem.write_to_path(str(files.cert), append=True)
    server_cert.private_key_pem.write_to_path(str(files.key))
    client = ca.issue_cert("client@example.org")
    client.private_key_and_cert_chain_pem.write_to_path(str(files.client_cert))
    return files
