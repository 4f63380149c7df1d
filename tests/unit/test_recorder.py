"""The onboard recorder's packet store: bounded with an overflow policy, and crash-proof."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from common.cuc import CucTime
from common.packets import TcPacket, TmPacket, encode, peek_seq_count
from flight.housekeeping.recorder import PacketStore

T0 = 1_780_000_000.0
KIB = 1024


def tm(seq: int, apid: int = 0x20, t: float | None = None, size: int = 100) -> bytes:
    """A TM packet of ``size`` bytes of application data, stamped ``t`` (default T0 + seq)."""
    return encode(TmPacket(apid, 3, 25, bytes([seq % 251]) * size, seq % 16384,
                           time=CucTime.from_unix(T0 + seq if t is None else t)))


def everything(store: PacketStore) -> list[bytes]:
    return list(store.query(T0 - 1e6, T0 + 1e9))


def seqs(packets: list[bytes]) -> list[int]:
    return [peek_seq_count(p) for p in packets]


def segment_files(directory: Path) -> list[Path]:
    return sorted(directory.glob("seg-*.pkt"))


def test_packets_come_back_in_order_within_their_time_span_and_after_a_restart(
        tmp_path: Path) -> None:
    store = PacketStore(tmp_path, 1024 * KIB)
    packets = [tm(seq) for seq in range(50)]
    assert store.append(packets[:20]) == 20
    assert store.append(packets[20:]) == 30
    store.append([encode(TcPacket(0x30, 17, 1, seq_count=5))])  # a TC is stored, not played
    assert everything(store) == packets
    assert seqs(list(store.query(T0 + 10, T0 + 12))) == [10, 11, 12]
    assert store.count(T0 + 100, T0 + 200) == 0
    store.close()
    again = PacketStore(tmp_path, 1024 * KIB)
    assert everything(again) == packets
    assert again.stats.packets == 51 and again.stats.torn_bytes == 0
    assert again.stats.per_apid_last == {0x20: 49, 0x30: 5}
    again.append([tm(50)])
    assert seqs(everything(again))[-2:] == [49, 50]


def test_a_packet_torn_by_a_crash_mid_write_is_cut_away_at_start(tmp_path: Path) -> None:
    store = PacketStore(tmp_path, 1024 * KIB)
    store.append([tm(seq) for seq in range(10)])
    last = segment_files(tmp_path)[-1]
    whole = last.stat().st_size
    # The process dies inside os.write: only the first 37 bytes of packet 10 reach the file.
    with open(last, "ab") as f:
        f.write(tm(10)[:37])
    del store  # killed: never closed
    again = PacketStore(tmp_path, 1024 * KIB)
    assert again.stats.torn_bytes == 37
    assert last.stat().st_size == whole, "the torn tail is truncated on disk"
    assert seqs(everything(again)) == list(range(10))
    assert again.stats.per_apid_last == {0x20: 9}
    # Recording goes on right after the last whole packet: nothing follows half a packet.
    again.append([tm(10), tm(11)])
    again.close()
    third = PacketStore(tmp_path, 1024 * KIB)
    assert seqs(everything(third)) == list(range(12)) and third.stats.torn_bytes == 0


def test_bytes_that_are_no_whole_packet_are_cut_with_everything_after_them(
        tmp_path: Path) -> None:
    store = PacketStore(tmp_path, 1024 * KIB)
    store.append([tm(seq) for seq in range(5)])
    store.close()
    last = segment_files(tmp_path)[-1]
    # A power loss can leave the file longer than what was written, the rest zeros: zeros
    # frame as 7-byte "packets" whose CRC does not check.
    with open(last, "ab") as f:
        f.write(bytes(700))
    again = PacketStore(tmp_path, 1024 * KIB)
    assert again.stats.torn_bytes == 700 and again.stats.packets == 5
    assert seqs(everything(again)) == list(range(5))


def test_a_failed_write_is_undone_and_counted(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    store = PacketStore(tmp_path, 1024 * KIB)
    store.append([tm(0), tm(1)])
    real_write = os.write

    def disk_full(fd: int, data: memoryview) -> int:
        real_write(fd, bytes(data[:50]))  # part of it, then the disk is full
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "write", disk_full)
    assert store.append([tm(2), tm(3)]) == 0
    monkeypatch.setattr(os, "write", real_write)
    assert (store.stats.write_errors, store.stats.overflows) == (1, 2)
    assert store.append([tm(4)]) == 1
    store.close()
    again = PacketStore(tmp_path, 1024 * KIB)
    assert seqs(everything(again)) == [0, 1, 4] and again.stats.torn_bytes == 0


def test_wrapping_drops_the_oldest_packets_counts_them_and_never_exceeds_the_limit(
        tmp_path: Path) -> None:
    limit = 256 * KIB  # the smallest limit housekeeping allows: 64 KiB segments
    store = PacketStore(tmp_path, limit, wrap=True)
    written = 0
    for seq in range(0, 3000, 10):
        written += store.append([tm(s) for s in range(seq, seq + 10)])
        assert store.stats.size <= limit
        on_disk = sum(p.stat().st_size for p in segment_files(tmp_path))
        assert on_disk == store.stats.size
    assert written == 3000, "wrap mode always takes the newest"
    kept = seqs(everything(store))
    assert kept == list(range(3000 - len(kept), 3000)), "the newest packets, contiguous"
    assert store.stats.overflows == 3000 - len(kept) == 3000 - store.stats.packets
    assert store.stats.overflows > 0 and len(segment_files(tmp_path)) > 1


def test_a_limit_below_one_segment_still_bounds_the_store(tmp_path: Path) -> None:
    limit = 16 * KIB  # smaller than a segment: the segment being written must go too
    store = PacketStore(tmp_path, limit, wrap=True)
    for seq in range(500):
        assert store.append([tm(seq)]) == 1
        assert store.stats.size <= limit
    kept = seqs(everything(store))
    assert kept[-1] == 499 and store.stats.overflows == 500 - len(kept)


def test_stop_mode_refuses_what_does_not_fit_and_keeps_what_it_has(tmp_path: Path) -> None:
    limit = 64 * KIB
    store = PacketStore(tmp_path, limit, wrap=False)
    stored = sum(store.append([tm(seq)]) for seq in range(1000))
    assert 0 < stored < 1000
    assert store.stats.overflows == 1000 - stored
    assert seqs(everything(store)) == list(range(stored)), "the oldest are kept"
    assert store.stats.size <= limit
    store.set_limit(2 * limit)
    assert store.append([tm(1000)]) == 1, "a larger limit makes room again"


def test_a_batch_larger_than_the_whole_store_is_refused_whole(tmp_path: Path) -> None:
    store = PacketStore(tmp_path, 64 * KIB, wrap=True)
    store.append([tm(0)])
    big = [tm(seq, size=1000) for seq in range(1, 80)]
    assert store.append(big) == 0
    assert store.stats.overflows == 79 and seqs(everything(store)) == [0]


def test_segments_rotate_and_wrapped_segments_are_gone_after_a_restart(tmp_path: Path) -> None:
    store = PacketStore(tmp_path, 256 * KIB, wrap=True)
    for seq in range(0, 4000, 20):
        store.append([tm(s) for s in range(seq, seq + 20)])
    before = everything(store)
    files = segment_files(tmp_path)
    assert files[0].name != "seg-00000001.pkt", "the first segments were dropped"
    store.close()
    again = PacketStore(tmp_path, 256 * KIB, wrap=True)
    assert everything(again) == before
    assert [s.path for s in again.segments] == files
