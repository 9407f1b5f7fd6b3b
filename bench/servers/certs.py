"""Throwaway TLS certificates for the benchmark's servers, made at run time.

Every TLS server start gets its own self-signed ECDSA P-256 certificate for
localhost and 127.0.0.1, made with ``openssl req`` in the server's temp dir
and removed with it: no private key is ever committed, and every server
presents the same kind of key, so the handshake's signature costs the same.
"""

from __future__ import annotations

import subprocess
from pathlib import Path


class CertError(RuntimeError):
    """openssl could not make the throwaway certificate."""


def tls_pair(tmp: Path) -> tuple[Path, Path]:
    """A fresh self-signed ECDSA P-256 certificate and key for localhost, in ``tmp``."""
    cert, key = tmp / "cert.pem", tmp / "key.pem"
    argv = ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]
    argv += ["-nodes", "-days", "2", "-subj", "/CN=localhost"]
    argv += ["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"]
    argv += ["-keyout", str(key), "-out", str(cert)]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise CertError(f"openssl req failed: {exc}") from exc
    if done.returncode != 0:
        raise CertError(f"openssl req failed: {done.stderr.strip()[-300:]}")
    return cert, key
