"""Telecommand authentication: MAC, anti-replay window, key rotation, persistence."""

from __future__ import annotations

import os

import pytest

from common.sdls import (
    DEFAULT_WINDOW,
    Reason,
    SecurityError,
    Signer,
    Verifier,
    generate_keys,
    protect,
    read_key_file,
    write_key_file,
)

PACKET = bytes.fromhex("1810c00000062f110100017c5b")


def verifier(tmp_path, keys) -> Verifier:
    return Verifier("SAT-01", keys, 1, tmp_path / "state.json")


def test_authentic_commands_pass_and_every_forgery_is_refused_with_its_reason(tmp_path) -> None:
    keys = generate_keys(["SAT-01"])["SAT-01"]
    check = verifier(tmp_path, keys)
    signer = Signer("SAT-01", keys, 1)
    first = signer.sign(PACKET)
    assert check.verify(first) == (1, 1, PACKET)
    forged = bytearray(signer.sign(PACKET))
    forged[-1] ^= 1
    cases = {
        Reason.BAD_MAC: bytes(forged),
        Reason.REPLAY: first,
        Reason.OUT_OF_WINDOW: protect(keys[1], 1, DEFAULT_WINDOW + 10, "SAT-01", PACKET),
        Reason.UNKNOWN_SPI: protect(os.urandom(32), 9, 5, "SAT-01", PACKET),
        Reason.INACTIVE_SPI: protect(keys[2], 2, 5, "SAT-01", PACKET),
        Reason.TOO_SHORT: first[:10],
    }
    for reason, data in cases.items():
        with pytest.raises(SecurityError) as caught:
            check.verify(data)
        assert caught.value.reason == reason
    assert check.verify(signer.sign(PACKET))[1] == 3  # authentic ones keep working
    other = Verifier("SAT-02", keys, 1)
    with pytest.raises(SecurityError, match="MAC"):
        other.verify(signer.sign(PACKET))  # a command for SAT-01 means nothing to SAT-02


def test_the_anti_replay_counter_and_the_active_key_survive_a_restart(tmp_path) -> None:
    keys = generate_keys(["SAT-01"])["SAT-01"]
    signer = Signer("SAT-01", keys, 1)
    check = verifier(tmp_path, keys)
    old = signer.sign(PACKET)
    check.verify(old)
    check.verify(signer.sign(PACKET))
    check.activate(2)
    again = verifier(tmp_path, keys)
    assert again.active == 2
    signer.use(1)
    with pytest.raises(SecurityError) as caught:
        again.verify(old)
    assert caught.value.reason in (Reason.REPLAY, Reason.INACTIVE_SPI)
    signer.use(2)
    assert again.verify(signer.sign(PACKET))[0] == 2


def test_the_ground_never_reuses_an_arsn_across_restarts(tmp_path) -> None:
    keys = generate_keys(["SAT-01"])["SAT-01"]
    state = tmp_path / "ground.json"
    first = Signer("SAT-01", keys, 1, state)
    first.sign(PACKET)
    first.sign(PACKET)
    second = Signer("SAT-01", keys, 1, state)
    assert second.sign(PACKET)[2:6] == (3).to_bytes(4, "big")


def test_key_files_are_private(tmp_path) -> None:
    path = write_key_file(tmp_path / "keys" / "keys.json", generate_keys(["A", "B"], spis=2))
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert set(read_key_file(path)) == {"A", "B"}
    os.chmod(path, 0o644)
    with pytest.raises(PermissionError, match="chmod 600"):
        read_key_file(path)
