"""`reactor serve --tls-*` and `reactor connect --tls` as a person runs them."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.tls.conftest import CertFiles

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
REACTOR = [sys.executable, "-m", "reactor"]


@pytest.fixture
def tls_echo(cert_files: CertFiles) -> Iterator[int]:
    proc = subprocess.Popen(
        [*REACTOR, "serve", "echo", "--port", "0", "--tls-cert", str(cert_files.cert),
         "--tls-key", str(cert_files.key), "--tls-handshake-timeout", "5",
         "--tls-alpn", "h2,http/1.1"],
        stderr=subprocess.PIPE, env=ENV,
    )  # fmt: skip
    assert proc.stderr is not None
    try:
        line = proc.stderr.readline().decode()
        found = re.search(r"serving echo on 127\.0\.0\.1:(\d+)", line)
        assert found, line
        yield int(found[1])
    finally:
        proc.terminate()
        proc.wait(timeout=15)
        proc.stderr.close()


def connect(*args: str, data: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [*REACTOR, "connect", *args], input=data, capture_output=True, timeout=30, env=ENV,
        check=False,
    )  # fmt: skip


def test_connect_tls_to_serve_tls(tls_echo: int, cert_files: CertFiles) -> None:
    out = connect(
        "127.0.0.1", str(tls_echo), "--tls", "--tls-ca", str(cert_files.ca),
        "--tls-server-name", "localhost", data=b"over the CLI, encrypted\n",
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert out.stdout == b"over the CLI, encrypted\n"


def test_connect_tls_refuses_an_unknown_ca(tls_echo: int) -> None:
    out = connect("localhost", str(tls_echo), "--tls", data=b"x")
    assert out.returncode == 1
    assert b"CERTIFICATE_VERIFY_FAILED" in out.stderr
    assert b"Traceback" not in out.stderr
    insecure = connect("localhost", str(tls_echo), "--tls", "--insecure", data=b"anyway\n")
    assert insecure.returncode == 0, insecure.stderr
    assert insecure.stdout == b"anyway\n"


def test_tls_options_without_what_they_need_are_one_line_errors(
    cert_files: CertFiles, tmp_path: Path
) -> None:
    serve = [*REACTOR, "serve", "echo", "--port", "0"]
    for args, message in [
        (["--tls-key", str(cert_files.key)], b"--tls-key needs --tls-cert"),
        (["--tls-cert", str(cert_files.cert), "--tls-key", str(cert_files.key),
          "--tls-client-auth", "required"], b"needs --tls-ca"),
        (["--tls-cert", str(tmp_path / "missing.pem")], b"cannot load the TLS certificate"),
    ]:  # fmt: skip
        out = subprocess.run(
            [*serve, *args], capture_output=True, timeout=30, env=ENV, check=False
        )
        assert out.returncode in (1, 2), out.stderr
        assert message in out.stderr, out.stderr
        assert b"Traceback" not in out.stderr
    out = connect("127.0.0.1", "1", "--insecure")
    assert out.returncode == 1
    assert b"need --tls" in out.stderr
