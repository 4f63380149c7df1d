"""``dawndusk keys``: telecommand keys for a fleet, in a file only its owner can read."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("keys")
@click.argument("output", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("satellites", nargs=-1, required=True)
@click.option("--spis", type=click.IntRange(1, 255), default=3, show_default=True,
              help="Keys per satellite (SPI 1 is active first; the others are for rotation).")
@click.option("--force", is_flag=True, help="Replace an existing key file.")
def keys_cmd(output: Path, satellites: tuple[str, ...], spis: int, force: bool) -> None:
    """Make random telecommand keys for SATELLITES in OUTPUT (mode 600)."""
    from common.sdls import generate_keys, write_key_file

    if output.exists() and not force:
        raise click.ClickException(f"{output} exists (use --force to replace it)")
    write_key_file(output, generate_keys(list(satellites), spis))
    click.echo(f"wrote {len(satellites) * spis} keys to {output} (owner read/write only)")
