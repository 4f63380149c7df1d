"""The ``dawndusk`` command line."""

from __future__ import annotations

import click

from scenarios.cli.codec import decode_cmd, dict_cmd, encode_cmd
from scenarios.cli.groundseg import ground_cmd, link_cmd
from scenarios.cli.keys import keys_cmd
from scenarios.cli.operator import cmd_cmd, console_cmd, events_cmd, history_cmd, tlm_cmd
from scenarios.cli.passes import passes_cmd
from scenarios.cli.runs import report_cmd, run_cmd, up_cmd
from scenarios.cli.satellite import satellite_cmd
from scenarios.cli.simulator import sim_cmd


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="dawndusk")
def main() -> None:
    """dawndusk: a digital twin of an orbital data-centre constellation."""


main.add_command(dict_cmd)
main.add_command(encode_cmd)
main.add_command(decode_cmd)
main.add_command(satellite_cmd)
main.add_command(sim_cmd)
main.add_command(passes_cmd)
main.add_command(ground_cmd)
main.add_command(link_cmd)
main.add_command(run_cmd)
main.add_command(up_cmd)
main.add_command(report_cmd)
for _command in (console_cmd, cmd_cmd, tlm_cmd, events_cmd, history_cmd, keys_cmd):
    main.add_command(_command)
