"""The ``dawndusk`` command line.

Subcommands are imported when they are run, not before: a satellite's processes (``dawndusk
sat``) then hold only what flight software needs, and every command starts faster.
"""

from __future__ import annotations

import importlib
from typing import Any

import click

#: Every subcommand: name → "module:function".
COMMANDS = {
    "dict": "scenarios.cli.codec:dict_cmd",
    "encode": "scenarios.cli.codec:encode_cmd",
    "decode": "scenarios.cli.codec:decode_cmd",
    "sat": "scenarios.cli.satellite:satellite_cmd",
    "sim": "scenarios.cli.simulator:sim_cmd",
    "passes": "scenarios.cli.passes:passes_cmd",
    "ground": "scenarios.cli.groundseg:ground_cmd",
    "link": "scenarios.cli.groundseg:link_cmd",
    "run": "scenarios.cli.runs:run_cmd",
    "up": "scenarios.cli.runs:up_cmd",
    "report": "scenarios.cli.runs:report_cmd",
    "console": "scenarios.cli.operator:console_cmd",
    "cmd": "scenarios.cli.operator:cmd_cmd",
    "tlm": "scenarios.cli.operator:tlm_cmd",
    "events": "scenarios.cli.operator:events_cmd",
    "history": "scenarios.cli.operator:history_cmd",
    "keys": "scenarios.cli.keys:keys_cmd",
}


class LazyGroup(click.Group):
    """A group whose commands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> Any:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module, name = target.split(":")
        return getattr(importlib.import_module(module), name)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="dawndusk")
def main() -> None:
    """dawndusk: a digital twin of an orbital data-centre constellation."""
