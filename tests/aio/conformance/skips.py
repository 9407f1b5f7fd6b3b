"""The skip list of the asyncio conformance run: the table in SKIPS.md, read without dependencies.

A row of the table is ``| `test id` | python | kind | reason |``:

- the test id is ``module.Class.test`` as ``python -m tests.aio.conformance.report``
  prints it; ``fnmatch`` wildcards are allowed (``test_tasks.*.test_foo`` names the
  test in every Task/Future flavour, ``test_events.HandleTests.*`` a whole class);
- python is ``all``, one version (``3.12``), a floor (``3.12+``), a ceiling
  (``<3.12``) or a comma-separated list of those;
- kind is ``scope`` (white-box: the test inspects asyncio's own classes, so it does
  not apply to another loop; it leaves the figures) or ``loop`` (reactor.aio does
  not pass it yet; it counts as a failure in the figures).

Markdown, not TOML, so that the one file is the documentation too and the report
runs on 3.10 without tomli.
"""

from __future__ import annotations

import enum
import re
import sys
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path

SKIPS_FILE = Path(__file__).with_name("SKIPS.md")
"""The skip list."""

_ROW = re.compile(
    r"^\|\s*`(?P<id>[^`]+)`\s*\|(?P<python>[^|]*)\|(?P<kind>[^|]*)\|(?P<reason>.*)\|\s*$"
)
_VERSION = re.compile(r"(?P<op><|)?(?P<major>\d+)\.(?P<minor>\d+)(?P<plus>\+)?")


class SkipKind(enum.Enum):
    """Why a test is skipped, which decides whether it counts in the figures."""

    SCOPE = "scope"
    """White-box: not applicable to another loop; left out of the figures."""
    LOOP = "loop"
    """reactor.aio does not pass it yet; counted as a failure."""


class SkipListError(ValueError):
    """A row of SKIPS.md that cannot be read."""


def _version_matches(spec: str, version: tuple[int, int]) -> bool:
    for part in (p.strip() for p in spec.split(",")):
        if part == "all":
            return True
        match = _VERSION.fullmatch(part)
        if match is None:
            raise SkipListError(f"python {part!r}: expected all, 3.12, 3.12+ or <3.12")
        wanted = (int(match["major"]), int(match["minor"]))
        if (match["op"] and version < wanted) or (match["plus"] and version >= wanted):
            return True
        if not match["op"] and not match["plus"] and version == wanted:
            return True
    return False


@dataclass(frozen=True)
class Skip:
    """One row of the skip list."""

    pattern: str
    python: str
    kind: SkipKind
    reason: str

    def applies(self, version: tuple[int, int] | None = None) -> bool:
        """Whether the row applies to ``version`` (the running Python by default)."""
        return _version_matches(self.python, version or sys.version_info[:2])

    def matches(self, test_id: str) -> bool:
        """Whether the row names ``test_id`` on the running Python."""
        return fnmatchcase(test_id, self.pattern) and self.applies()

    def message(self) -> str:
        """The skip message: the kind first, so the report can tell them apart."""
        return f"conformance {self.kind.value}: {self.reason}"


def parse_skips(text: str) -> list[Skip]:
    """The rows of a skip-list table; SkipListError names a malformed one."""
    skips = []
    for number, line in enumerate(text.splitlines(), 1):
        match = _ROW.match(line)
        if match is None:
            continue
        try:
            kind = SkipKind(match["kind"].strip())
        except ValueError:
            raise SkipListError(
                f"SKIPS.md line {number}: kind {match['kind'].strip()!r} is not scope or loop"
            ) from None
        skip = Skip(match["id"], match["python"].strip(), kind, match["reason"].strip())
        try:
            skip.applies()
        except SkipListError as exc:
            raise SkipListError(f"SKIPS.md line {number}: {exc}") from None
        skips.append(skip)
    return skips


def load_skips(path: Path = SKIPS_FILE) -> list[Skip]:
    """The skip list in SKIPS.md."""
    return parse_skips(path.read_text(encoding="utf-8"))


def kind_of(message: str) -> SkipKind | None:
    """The kind of a skip message made by ``Skip.message``, or None for CPython's own skips."""
    for kind in SkipKind:
        if message.startswith(f"conformance {kind.value}:"):
            return kind
    return None
