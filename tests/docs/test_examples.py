"""The documentation's examples run, and print what the pages say they print.

Every ``docs/examples/NAME.py`` runs as its own program (as a reader would
run it, with the repository on ``PYTHONPATH``) and its standard output must
equal ``docs/examples/NAME.out``, the file the page shows as its output.
Every example and every output file must appear on some page, and Python
code blocks in the pages either compile (fragments) or, when marked
``:class: runnable``, run.  So the pages cannot drift from the code.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
EXAMPLES = DOCS / "examples"
ENV = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
SCRIPTS = sorted(EXAMPLES.glob("*.py"))
# Examples that read Linux-only kernel interfaces (/proc/net/tcp, FIONREAD,
# TCP_KEEPIDLE) or rely on Linux's backlog behaviour.
LINUX_ONLY = {"tcp_closing", "tcp_handshake", "tcp_idle", "tcp_backpressure"}
# TLS examples take a CA, a certificate and a key for localhost, made here:
# no private key is ever committed.
NEEDS_CERTS = {"tcp_tls", "tls_guide"}


def certificates(where: Path) -> list[str]:
    """Write a throwaway CA and a localhost certificate; their paths: CA, cert, key."""
    import trustme

    ca = trustme.CA()
    leaf = ca.issue_cert("localhost", "127.0.0.1")
    paths = [where / "ca.pem", where / "cert.pem", where / "key.pem"]
    ca.cert_pem.write_to_path(str(paths[0]))
    leaf.cert_chain_pems[0].write_to_path(str(paths[1]))
    leaf.private_key_pem.write_to_path(str(paths[2]))
    return [str(p) for p in paths]


def pages() -> list[Path]:
    return sorted(p for p in DOCS.rglob("*.rst") if "_build" not in p.parts)


def page_text() -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in pages())


@pytest.mark.parametrize("script", SCRIPTS, ids=[s.stem for s in SCRIPTS])
def test_example_prints_its_documented_output(script: Path, tmp_path: Path) -> None:
    if script.stem in LINUX_ONLY and not sys.platform.startswith("linux"):
        pytest.skip("reads Linux-only kernel interfaces")
    expected = script.with_suffix(".out").read_text(encoding="utf-8")
    args = certificates(tmp_path) if script.stem in NEEDS_CERTS else []
    result = subprocess.run(
        [sys.executable, str(script), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=ENV,
        cwd=ROOT,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout == expected


def test_every_example_has_an_output_and_both_are_on_a_page() -> None:
    text = page_text()
    outputs = sorted(EXAMPLES.glob("*.out"))
    assert {s.stem for s in SCRIPTS} == {o.stem for o in outputs}
    for path in [*SCRIPTS, *outputs]:
        assert re.search(rf"literalinclude:: [./]*examples/{re.escape(path.name)}\b", text), (
            f"{path.name} is not shown on any page"
        )


def test_plugin_package_is_on_a_page() -> None:
    text = page_text()
    for name in ("plugin/pyproject.toml", "plugin/upper.py", "plugin/test_upper.py"):
        assert f"examples/{name}" in text


CODE_BLOCK = re.compile(
    r"^(?P<indent>[ \t]*)\.\. code-block:: python[ \t]*\n"
    r"(?P<options>(?:(?P=indent)[ \t]+:[\w-]+:.*\n)*)"
    r"\n(?P<body>(?:(?:(?P=indent)[ \t]+.*)?\n)+)",
    re.MULTILINE,
)


def python_blocks() -> list[tuple[str, bool, str]]:
    """(where, runnable, code) for each ``code-block:: python`` in the pages."""
    blocks = []
    for page in pages():
        text = page.read_text(encoding="utf-8")
        for match in CODE_BLOCK.finditer(text):
            lines = match["body"].rstrip().splitlines()
            width = min(len(line) - len(line.lstrip()) for line in lines if line.strip())
            code = "\n".join(line[width:] for line in lines) + "\n"
            runnable = bool(re.search(r":class:.*\brunnable\b", match["options"]))
            line_no = text.count("\n", 0, match.start()) + 1
            blocks.append((f"{page.relative_to(DOCS)}:{line_no}", runnable, code))
    return blocks


def test_python_code_blocks_compile_and_runnable_ones_run() -> None:
    for where, runnable, code in python_blocks():
        compile(code, where, "exec")
        if not runnable:
            continue
        result = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            timeout=60,
            env=ENV,
            cwd=ROOT,
            check=False,
        )
        assert result.returncode == 0, f"{where}: {result.stderr}"


def test_code_block_scanner_finds_blocks_and_their_class() -> None:
    page = "Title\n\n.. code-block:: python\n   :class: runnable\n\n   x = 1\n   y = x\n\nText\n"
    match = CODE_BLOCK.search(page)
    assert match is not None
    assert "runnable" in match["options"]
    assert match["body"].split() == ["x", "=", "1", "y", "=", "x"]
