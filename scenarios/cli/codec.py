"""``dawndusk dict``, ``encode`` and ``decode``: the dictionary and the wire format by hand."""

from __future__ import annotations

import json
import string
import sys
from pathlib import Path
from typing import Any

import click

from common.dictionary import DICTIONARY, json_value
from common.errors import ArgumentError, PacketError, UnknownCommand
from common.framing import is_idle, iter_frames
from common.packets import (
    PRIMARY_HEADER_LEN,
    SEQ_COUNT_MODULO,
    AckFlags,
    Packet,
    TcPacket,
    decode,
    encode,
)


@click.command("dict")
@click.option("--markdown", "fmt", flag_value="markdown", help="The reference, as Markdown.")
@click.option("--json", "fmt", flag_value="json", help="Everything, as JSON.")
@click.option("--xtce", "fmt", flag_value="xtce", help="An XTCE 1.2 SpaceSystem.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write to a file instead of standard output.")
def dict_cmd(fmt: str | None, output: Path | None) -> None:
    """Show the dictionary, or export it (--markdown, --json, --xtce)."""
    if fmt == "markdown":
        from common.dictionary.export.markdown import to_markdown

        text = to_markdown(DICTIONARY)
    elif fmt == "json":
        from common.dictionary.export.json_export import to_json

        text = to_json(DICTIONARY)
    elif fmt == "xtce":
        from common.dictionary.export.xtce import to_xtce

        text = to_xtce(DICTIONARY)
    else:
        text = _summary()
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        click.echo(f"wrote {output}", err=True)


def _summary() -> str:
    lines = [f"dawndusk dictionary v{DICTIONARY.version}: {len(DICTIONARY.apps)} apps, "
             f"{len(DICTIONARY.commands)} commands, {len(DICTIONARY.params)} parameters, "
             f"{len(DICTIONARY.events)} events", ""]
    for app in DICTIONARY.apps.values():
        lines.append(f"{app.name:<8} APID 0x{app.apid:03X}  {app.title}")
        for command in app.commands:
            args = " ".join(f"{a.name}=<{a.type.describe()}>" for a in command.args)
            lines.append(f"    {command.name:<28} {args}")
    lines.append("")
    lines.append("Export with --markdown, --json or --xtce; see docs/dictionary.md.")
    return "\n".join(lines) + "\n"


def _parse_assignment(command_name: str, text: str) -> tuple[str, Any]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise click.BadParameter(f"expected ARG=VALUE, got {text!r}", param_hint="ARGS")
    command = DICTIONARY.command(command_name)
    for arg in command.args:
        if arg.name == name and arg.type.kind == "msgpack":
            try:
                return name, json.loads(value)
            except json.JSONDecodeError as exc:
                raise click.BadParameter(f"{name}: not JSON ({exc})", param_hint="ARGS") from None
    return name, value


@click.command("encode")
@click.argument("command")
@click.argument("args", nargs=-1)
@click.option("--seq", "seq_count", type=click.IntRange(0, SEQ_COUNT_MODULO - 1), default=0,
              show_default=True, help="Sequence count.")
@click.option("--source", "source_id", type=click.IntRange(0, 0xFFFF), default=1,
              show_default=True, help="Source ID.")
@click.option("--ack", "ack_flags", type=click.IntRange(0, 15), default=int(AckFlags.ALL),
              show_default=True, help="Acknowledgement flags (bits: accept, start, progress, "
              "complete).")
def encode_cmd(command: str, args: tuple[str, ...], seq_count: int, source_id: int,
               ack_flags: int) -> None:
    """Print the telecommand COMMAND (APP.VERB) with ARG=VALUE arguments, as hex."""
    try:
        values = dict(_parse_assignment(command, text) for text in args)
        tc = DICTIONARY.encode_command(command, values, seq_count=seq_count,
                                       source_id=source_id, ack_flags=ack_flags)
    except (ArgumentError, UnknownCommand) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(encode(tc).hex())


def _describe(packet: Packet, offset: int, size: int) -> dict[str, Any]:
    out: dict[str, Any] = {
        "offset": offset,
        "length": size,
        "type": packet.packet_type.name,
        "apid": packet.apid,
        "seq_count": packet.seq_count,
        "service": packet.service,
        "subtype": packet.subtype,
    }
    app = DICTIONARY.by_apid.get(packet.apid)
    if app is not None:
        out["app"] = app.name
    if isinstance(packet, TcPacket):
        out.update(source_id=packet.source_id, ack_flags=int(packet.ack_flags))
        decoded = DICTIONARY.decode_command(packet)
        out["command"] = decoded.command.name
        out["args"] = {k: json_value(v) for k, v in decoded.args.items()}
    else:
        try:
            time: str | None = packet.time.isoformat()
        except ValueError:  # before 1972, when UTC had no whole-second offset from TAI
            time = None
        out.update(msg_counter=packet.msg_counter, dest_id=packet.dest_id, time=time,
                   time_ref_status=packet.time_ref_status)
        if time is None:
            out["time_tai_s"] = packet.time.tai_seconds
        tm = DICTIONARY.decode_tm(packet)
        out["kind"] = tm.kind
        out["name"] = tm.name
        out["values"] = {k: json_value(v) for k, v in tm.values.items()}
        if tm.message is not None:
            out["severity"] = tm.severity
            out["message"] = tm.message
    return out


def _read_input(chunks: tuple[str, ...], force: str | None) -> list[bytes]:
    if chunks:
        try:
            return [bytes.fromhex("".join(chunk.split())) for chunk in chunks]
        except ValueError as exc:
            raise click.BadParameter(f"not hexadecimal: {exc}", param_hint="HEX") from None
    data = sys.stdin.buffer.read()
    if force == "binary":
        return [data]
    compact = b"".join(data.split())
    if force == "hex" or (compact and all(chr(b) in string.hexdigits for b in compact)):
        try:
            return [bytes.fromhex(compact.decode("ascii"))]
        except ValueError as exc:
            raise click.BadParameter(f"not hexadecimal: {exc}", param_hint="stdin") from None
    return [data]


def decode_stream(data: bytes) -> tuple[list[dict[str, Any]], int]:
    """One JSON-ready record per packet of ``data`` (errors included); and the error count."""
    records: list[dict[str, Any]] = []
    errors = 0
    end = 0
    for frame in iter_frames(data):
        end = frame.offset + len(frame.data)
        if is_idle(frame.data):
            continue
        try:
            packet = decode(frame.data)
            records.append(_describe(packet, frame.offset, len(frame.data)))
        except PacketError as exc:
            errors += 1
            records.append({"offset": frame.offset, "error": exc.reason, "message": str(exc),
                            "bytes": frame.data.hex()})
    if end < len(data):
        errors += 1
        tail = data[end:]
        if len(tail) < PRIMARY_HEADER_LEN:
            message = f"{len(tail)} trailing bytes are too few for a primary header"
        else:
            needed = ((tail[4] << 8) | tail[5]) + PRIMARY_HEADER_LEN + 1
            message = f"packet announces {needed} bytes, only {len(tail)} remain"
        records.append({"offset": end, "error": "too_short", "message": message,
                        "bytes": tail.hex()})
    return records, errors


def _jsonable(value: Any) -> Any:
    """What JSON cannot carry as such: bytes inside structured values (msgpack) as hex."""
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    return repr(value)


@click.command("decode")
@click.argument("hex_packets", nargs=-1, metavar="[HEX]...")
@click.option("--binary", "force", flag_value="binary", help="Standard input is raw bytes.")
@click.option("--hex", "force", flag_value="hex", help="Standard input is hexadecimal text.")
def decode_cmd(hex_packets: tuple[str, ...], force: str | None) -> None:
    """Decode packets given as HEX arguments, or read from standard input (hex or binary).

    Prints one JSON object per packet; a bad packet prints its error and byte offset, decoding
    goes on, and the exit status is 1.
    """
    inputs = _read_input(hex_packets, force)
    failed = 0
    for index, data in enumerate(inputs):
        records, errors = decode_stream(data)
        failed += errors
        for record in records:
            if len(inputs) > 1:
                record = {"input": index, **record}
            click.echo(json.dumps(record, default=_jsonable))
    if failed:
        sys.exit(1)
