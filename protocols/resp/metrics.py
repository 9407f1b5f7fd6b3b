"""What ``/metrics`` shows of the RESP server: the calls INFO commandstats counts.

The command table already counts every call (``Command.calls``, for INFO
commandstats); these families read those counts at scrape time rather than
count a second time.
"""

from __future__ import annotations

from protocols.resp.commands import Commands
from reactor.metrics import Family

__all__ = ["command_families"]


def command_families(commands: Commands) -> list[Family]:
    """``selreactor_resp_commands_total{command}`` (the commands called at
    least once) and ``selreactor_resp_errors_total`` (error replies)."""
    calls = Family(
        "selreactor_resp_commands_total", "counter", "RESP commands run, by command name"
    )
    for name, command in sorted(commands.commands.items()):
        if command.calls:
            calls.add(command.calls, {"command": name})
    errors = Family(
        "selreactor_resp_errors_total",
        "counter",
        "RESP error replies (unknown commands and wrong arity included)",
    )
    errors.add(commands.errors)
    return [calls, errors]
