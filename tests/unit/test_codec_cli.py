"""``dawndusk encode`` and ``dawndusk decode``: telecommands by hand, packets as JSON lines, bad
packets reported with their offset while decoding goes on, and a non-zero exit status."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from common.cuc import CucTime
from common.dictionary import DICTIONARY
from common.packets import TmPacket, encode, idle_packet
from scenarios.cli import main

SET_MODE = "1840c00700092f080100010010026384"  # FP.SET_MODE mode=SAFE --seq 7 (README)
FEW = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def run(*args: str, stdin: bytes | str | None = None) -> tuple[int, list[dict], str]:
    result = CliRunner().invoke(main, list(args), input=stdin)
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    return result.exit_code, lines, result.output


def test_encode_prints_the_telecommand_as_hex() -> None:
    code, _, output = run("encode", "FP.SET_MODE", "mode=SAFE", "--seq", "7")
    assert code == 0 and output.strip() == SET_MODE


def test_encode_explains_a_bad_argument_or_command() -> None:
    code, _, output = run("encode", "EXEC.ACTIVATE_KEY", "spi=300")
    assert code != 0
    assert "EXEC.ACTIVATE_KEY: argument spi='300' is invalid; allowed: integer 1..255" in output
    code, _, output = run("encode", "FP.SET_MOD", "mode=SAFE")
    assert code != 0 and "did you mean FP.SET_MODE" in output
    code, _, output = run("encode", "COMPUTE.SUBMIT_JOB", "job={not json")
    assert code != 0 and "not JSON" in output


def test_decode_prints_one_json_object_per_packet() -> None:
    code, (record,), _ = run("decode", SET_MODE)
    assert code == 0
    assert record["command"] == "FP.SET_MODE" and record["args"] == {"mode": "SAFE"}
    assert (record["offset"], record["length"], record["apid"], record["seq_count"]) == (
        0, 16, 0x40, 7)
    assert (record["type"], record["service"], record["subtype"]) == ("TC", 8, 1)


def test_a_bad_packet_is_reported_with_its_offset_and_decoding_goes_on() -> None:
    bad = SET_MODE[:-2] + "00"  # CRC broken
    code, records, _ = run("decode", SET_MODE + bad + idle_packet(9).hex() + SET_MODE)
    assert code == 1
    assert [r.get("command") for r in records] == ["FP.SET_MODE", None, "FP.SET_MODE"]
    error = records[1]
    assert error["offset"] == 16 and error["error"] == "crc_mismatch"
    assert "CRC 0x6300 received" in error["message"] and error["bytes"] == bad
    assert records[2]["offset"] == 16 + 16 + 9


def test_a_truncated_tail_and_unknown_packets_are_errors() -> None:
    code, records, _ = run("decode", SET_MODE + SET_MODE[:20])
    assert code == 1
    assert records[1] == {"offset": 16, "error": "too_short", "bytes": SET_MODE[:20],
                          "message": "packet announces 16 bytes, only 10 remain"}
    unknown = encode(DICTIONARY.encode_command("FP.SET_MODE", {"mode": "SAFE"})._replace(
        app_data=b"\x01\x99"))
    code, (record,), _ = run("decode", unknown.hex())
    assert code == 1 and record["error"] == "unknown_command" and record["offset"] == 0


def test_decode_reads_hex_or_binary_from_stdin_and_numbers_several_inputs() -> None:
    packet = bytes.fromhex(SET_MODE)
    code, records, _ = run("decode", stdin=f"{SET_MODE[:10]} {SET_MODE[10:]}\n")
    assert code == 0 and records[0]["command"] == "FP.SET_MODE"
    code, records, _ = run("decode", "--binary", stdin=packet + packet)
    assert code == 0 and [r["offset"] for r in records] == [0, 16]
    code, records, _ = run("decode", SET_MODE, SET_MODE[:-2] + "00")
    assert code == 1 and [(r["input"], "error" in r) for r in records] == [(0, False), (1, True)]
    code, _, output = run("decode", "zz")
    assert code == 2 and "not hexadecimal" in output


def test_decode_shows_telemetry_with_its_time_and_values() -> None:
    structure = DICTIONARY.structures["FP.STATUS"]
    values = {p.name: 0 for p in structure.params} | {"FP.MODE": "SAFE", "FP.LAST_TC_AGE": 1.5}
    time = CucTime.from_unix(1_781_000_000.25)
    tm = TmPacket(structure.apid, 3, 25, DICTIONARY.hk_app_data(structure, values), 3, 9, 1, time)
    code, (record,), _ = run("decode", encode(tm).hex())
    assert code == 0
    assert (record["kind"], record["name"], record["time"]) == (
        "hk", "FP.STATUS", "2026-06-09T10:13:20.250000Z")
    assert record["values"]["FP.MODE"] == "SAFE" and record["values"]["FP.LAST_TC_AGE"] == 1.5
    early = encode(TmPacket(0x10, 17, 2)).hex()  # CUC zero: 1958, before UTC had leap seconds
    code, (record,), _ = run("decode", early)
    assert code == 0 and record["time"] is None and record["time_tai_s"] == 0.0


def _job_list() -> bytes:
    report = DICTIONARY.reports["COMPUTE.JOB_LIST"]
    jobs = {"jobs": [{"id": 7, "digest": b"\x00\xff", "state": "DONE"}]}
    return encode(TmPacket(report.apid, 140, 1, DICTIONARY.report_app_data(report, jobs),
                           time=CucTime.from_unix(1.8e9)))


SAMPLES = [bytes.fromhex(SET_MODE), encode(TmPacket(0x10, 17, 2)), _job_list(),
           encode(DICTIONARY.encode_command("HK.PLAYBACK", {"start": 1.8e9, "end": 1.9e9}))]


@st.composite
def damaged(draw: st.DrawFn) -> bytes:
    """Valid packets, concatenated, with a few bits flipped and maybe cut short."""
    data = bytearray(b"".join(draw(st.lists(st.sampled_from(SAMPLES), min_size=1, max_size=3))))
    for flip in draw(st.lists(st.integers(0, len(data) * 8 - 1), max_size=3)):
        data[flip // 8] ^= 0x80 >> (flip % 8)
    return bytes(data[: len(data) - draw(st.integers(0, 3))])


def test_the_samples_decode() -> None:
    code, records, _ = run("decode", "--binary", stdin=b"".join(SAMPLES))
    assert code == 0 and len(records) == len(SAMPLES)
    assert records[2]["values"]["jobs"] == [{"id": 7, "digest": "00ff", "state": "DONE"}]


@FEW
@given(st.binary(max_size=120) | damaged())
def test_decode_never_crashes_on_garbage(data: bytes) -> None:
    code, records, output = run("decode", "--binary", stdin=data)
    assert code in (0, 1), output
    assert (code == 1) == any("error" in r for r in records)
    assert len(records) == len(output.splitlines())


def test_the_readme_pipe_works_with_the_installed_command() -> None:
    dawndusk = Path(sys.executable).with_name("dawndusk")
    encoded = subprocess.run([dawndusk, "encode", "FP.SET_MODE", "mode=SAFE", "--seq", "7"],
                             capture_output=True, check=True)
    assert encoded.stdout.decode().strip() == SET_MODE
    bad = subprocess.run([dawndusk, "decode"], input=encoded.stdout[:-5] + b"\n",
                         capture_output=True)
    assert bad.returncode == 1
    assert json.loads(bad.stdout)["error"] == "too_short"
