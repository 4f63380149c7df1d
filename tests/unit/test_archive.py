"""The ground archive's parameter series: what goes in comes out, by satellite and name, whatever
the segments it was written in."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ground.archive import Archive


def _packet(archive: Archive, satellite: str, seq: int, time: float) -> int:
    packet_id = archive.add_packet(satellite, 0x100, seq, "TM", 3, 25, time, int(time), 0,
                                   time, 0, bytes(20), "KSAT")
    assert packet_id is not None
    return packet_id


@pytest.fixture
def archive(tmp_path: Path) -> Iterator[Archive]:
    archive = Archive(tmp_path / "archive.sqlite")
    yield archive
    archive.close()


def test_a_parameter_comes_back_by_satellite_and_name_in_time_order(archive: Archive) -> None:
    # Stored out of order (a playback after live telemetry), read back in time order.
    for seq, time in enumerate((30.0, 10.0, 20.0)):
        archive.add_params(_packet(archive, "SAT-01", seq, time), "SAT-01", time,
                           {"HK.TEMP": time / 10, "HK.MODE": "SAFE", "HK.ON": True})
    archive.add_params(_packet(archive, "SAT-02", 0, 15.0), "SAT-02", 15.0, {"HK.TEMP": -1.0})
    assert archive.parameter("SAT-01", "HK.TEMP") == [(10.0, 1.0), (20.0, 2.0), (30.0, 3.0)]
    assert archive.parameter("SAT-02", "HK.TEMP") == [(15.0, -1.0)]
    assert archive.parameter("SAT-01", "HK.TEMP", start=15.0, end=25.0) == [(20.0, 2.0)]
    assert archive.parameter("SAT-01", "HK.MODE")[0] == (10.0, "SAFE")
    assert archive.parameter("SAT-01", "HK.ON")[0] == (10.0, True)
    assert archive.latest("SAT-01", "HK.TEMP") == (30.0, 3.0)
    assert archive.latest("SAT-02", "HK.MODE") is None
    assert archive.parameter("SAT-03", "HK.TEMP") == []


def test_two_packets_at_the_same_time_keep_both_values(archive: Archive) -> None:
    for seq, value in enumerate((1, 2)):
        archive.add_params(_packet(archive, "SAT-01", seq, 5.0), "SAT-01", 5.0, {"X.N": value})
    assert archive.parameter("SAT-01", "X.N") == [(5.0, 1), (5.0, 2)]
    assert archive.latest("SAT-01", "X.N") == (5.0, 2)


def test_values_are_kept_as_msgpack_keeps_them_and_the_rest_as_text(archive: Archive) -> None:
    archive.add_params(_packet(archive, "SAT-01", 0, 1.0), "SAT-01", 1.0,
                       {"X.LIST": [1, 2], "X.NONE": None, "X.RAW": b"\x01", "X.ON": True,
                        "X.OTHER": complex(1, 2)})
    archive.add_params(_packet(archive, "SAT-01", 1, 2.0), "SAT-01", 2.0,
                       {"X.BIG": 1 << 70})  # beyond msgpack's integers
    archive.add_params(_packet(archive, "SAT-01", 2, 3.0), "SAT-01", 3.0, {"X.BIG": 5})
    archive.commit()
    assert archive.latest("SAT-01", "X.LIST") == (1.0, [1, 2])
    assert archive.latest("SAT-01", "X.NONE") == (1.0, None)
    assert archive.latest("SAT-01", "X.RAW") == (1.0, b"\x01")
    assert archive.latest("SAT-01", "X.ON") == (1.0, True)
    assert archive.latest("SAT-01", "X.OTHER") == (1.0, "(1+2j)")
    assert archive.parameter("SAT-01", "X.BIG") == [(2.0, str(1 << 70)), (3.0, 5)]


def test_a_reader_sees_the_writers_series(archive: Archive, tmp_path: Path) -> None:
    archive.add_params(_packet(archive, "SAT-01", 0, 1.0), "SAT-01", 1.0, {"X.N": 7})
    archive.commit()
    reader = Archive(tmp_path / "archive.sqlite", readonly=True)
    try:
        assert reader.parameter("SAT-01", "X.N") == [(1.0, 7)]
    finally:
        reader.db.close()


def _reader(tmp_path: Path) -> Archive:
    return Archive(tmp_path / "archive.sqlite", readonly=True)


def test_values_reach_readers_at_the_commit_one_segment_per_series(archive: Archive,
                                                                  tmp_path: Path) -> None:
    reader = _reader(tmp_path)
    try:
        for seq in range(50):
            archive.add_params(_packet(archive, "SAT-01", seq, float(seq)), "SAT-01", float(seq),
                               {"X.A": seq, "X.B": -seq})
        assert reader.parameter("SAT-01", "X.A") == []  # kept by the writer until it commits
        archive.commit()
        assert [v for _t, v in reader.parameter("SAT-01", "X.A")] == list(range(50))
        rows = archive.query("SELECT series, first, last, count FROM segments ORDER BY series")
        assert [(r["first"], r["last"], r["count"]) for r in rows] == [(0.0, 49.0, 50)] * 2
    finally:
        reader.db.close()


def test_a_series_written_over_many_commits_reads_as_one(archive: Archive,
                                                           tmp_path: Path) -> None:
    # Live values, then a playback of earlier ones, then more live, each batch committed apart;
    # two packets share a time. Reading merges the segments in time (then packet) order.
    batches = [[(100.0, 1.0), (101.0, 2.0)], [(50.0, 0.5), (60.0, 0.6), (101.0, 2.5)],
               [(102.0, 3.0)]]
    seq = 0
    for batch in batches:
        for time, value in batch:
            archive.add_params(_packet(archive, "SAT-01", seq, time), "SAT-01", time,
                               {"X.T": value})
            seq += 1
        archive.commit()
    reader = _reader(tmp_path)
    try:
        assert reader.parameter("SAT-01", "X.T") == [
            (50.0, 0.5), (60.0, 0.6), (100.0, 1.0), (101.0, 2.0), (101.0, 2.5), (102.0, 3.0)]
        assert reader.parameter("SAT-01", "X.T", start=60.0, end=101.0) == [
            (60.0, 0.6), (100.0, 1.0), (101.0, 2.0), (101.0, 2.5)]
        assert reader.parameter("SAT-01", "X.T", start=200.0) == []
        assert reader.latest("SAT-01", "X.T") == (102.0, 3.0)
        # The playback's values came before the open segment's end: a segment of their own,
        # which the last commit's later value then joined.
        assert [(r["first"], r["last"], r["count"]) for r in reader.query(
            "SELECT first, last, count FROM segments ORDER BY id")] == [
            (100.0, 101.0, 2), (50.0, 102.0, 4)]
    finally:
        reader.db.close()


def test_values_a_few_per_commit_fill_a_segment_before_the_next(archive: Archive,
                                                                  tmp_path: Path) -> None:
    from ground.series import SEGMENT_VALUES

    # A slow run: every commit brings one value; they go to the end of the open segment until
    # it holds SEGMENT_VALUES, rather than a row each.
    total = 2 * SEGMENT_VALUES + 2
    for seq in range(total):
        archive.add_params(_packet(archive, "SAT-01", seq, float(seq)), "SAT-01", float(seq),
                           {"X.N": seq})
        archive.commit()
    reader = _reader(tmp_path)
    try:
        counts = [r["count"] for r in reader.query("SELECT count FROM segments ORDER BY id")]
        assert counts == [SEGMENT_VALUES, SEGMENT_VALUES, 2]
        assert reader.parameter("SAT-01", "X.N") == [(float(n), n) for n in range(total)]
        assert reader.latest("SAT-01", "X.N") == (float(total - 1), total - 1)
    finally:
        reader.db.close()


def test_values_are_committed_with_their_packets_whichever_commit_it_is(
        archive: Archive, tmp_path: Path) -> None:
    # The contact plan and the queue states commit too: a packet's values go with it, so that
    # a packet on disk never lacks its values (played back again it would be a duplicate).
    archive.add_params(_packet(archive, "SAT-01", 0, 1.0), "SAT-01", 1.0, {"X.N": 1})
    archive.set_queue("SAT-01", "BLOCKED")
    archive.add_params(_packet(archive, "SAT-01", 1, 2.0), "SAT-01", 2.0, {"X.N": 2})
    archive.set_contacts([])
    reader = _reader(tmp_path)
    try:
        assert reader.parameter("SAT-01", "X.N") == [(1.0, 1), (2.0, 2)]
    finally:
        reader.db.close()


def test_values_msgpack_cannot_keep_or_read_back_are_kept_as_text(archive: Archive) -> None:
    archive.add_params(_packet(archive, "SAT-01", 0, 1.0), "SAT-01", 1.0,
                       {"X.BAD_TEXT": "a\udcff", "X.MAP": {1: "one"}})
    archive.commit()
    assert archive.latest("SAT-01", "X.BAD_TEXT") == (1.0, "a\\udcff")
    assert archive.latest("SAT-01", "X.MAP") == (1.0, {1: "one"})


def test_the_latest_of_two_segments_ending_at_once_is_the_later_packet(archive: Archive) -> None:
    archive.add_params(_packet(archive, "SAT-01", 0, 9.0), "SAT-01", 9.0, {"X.N": 1})
    archive.commit()
    archive.add_params(_packet(archive, "SAT-01", 1, 9.0), "SAT-01", 9.0, {"X.N": 2})
    archive.commit()
    assert archive.latest("SAT-01", "X.N") == (9.0, 2)


def test_the_writer_reads_what_it_has_not_committed_yet(archive: Archive) -> None:
    archive.add_params(_packet(archive, "SAT-01", 0, 3.0), "SAT-01", 3.0, {"X.N": 4})
    assert archive.parameter("SAT-01", "X.N") == [(3.0, 4)]
    assert archive.latest("SAT-01", "X.N") == (3.0, 4)


def test_the_highest_of_several_parameters_at_each_time(archive: Archive) -> None:
    for seq, (time, a, b) in enumerate([(1.0, 20.0, 25.0), (2.0, 31.0, 24.0), (3.0, None, 22.5)]):
        archive.add_params(_packet(archive, "SAT-01", seq, time), "SAT-01", time,
                           {"N.T0": a, "N.T1": b})
    archive.add_params(_packet(archive, "SAT-01", 9, 4.0), "SAT-01", 4.0, {"N.T1": 19.0})
    assert archive.highest("SAT-01", ("N.T0", "N.T1")) == [
        (1.0, 25.0), (2.0, 31.0), (3.0, 22.5), (4.0, 19.0)]
    assert archive.highest("SAT-02", ("N.T0",)) == []


def _old_file(path: Path, *statements: str) -> Path:
    import sqlite3

    old = sqlite3.connect(path)
    for statement in statements:
        old.execute(statement)
    old.commit()
    old.close()
    return path


def test_an_archive_of_an_earlier_layout_is_refused_by_name(tmp_path: Path) -> None:
    from ground.archive import ArchiveError

    # Before layouts were numbered (user_version 0), with tables.
    unnumbered = _old_file(tmp_path / "old.sqlite", "CREATE TABLE packets (id INTEGER PRIMARY KEY)",
                           "CREATE TABLE params (packet_id, satellite, name, time, value)")
    for readonly in (False, True):
        with pytest.raises(ArchiveError, match="archive layout 0, this dawndusk reads layout 3"):
            Archive(unnumbered, readonly=readonly)
    # Layout 2 kept a row per value (table params).
    layout2 = _old_file(tmp_path / "layout2.sqlite",
                        "CREATE TABLE params (series, time, packet_id, value)",
                        "PRAGMA user_version = 2")
    with pytest.raises(ArchiveError, match="archive layout 2, this dawndusk reads layout 3"):
        Archive(layout2, readonly=True)


def test_dawndusk_report_names_an_archive_it_cannot_read(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from ground.archive import ARCHIVE_FILE
    from scenarios.cli.runs import report_cmd

    _old_file(tmp_path / ARCHIVE_FILE, "CREATE TABLE packets (id INTEGER PRIMARY KEY)")
    result = CliRunner().invoke(report_cmd, [str(tmp_path)])
    assert result.exit_code == 1
    assert "archive layout 0" in result.output and "Traceback" not in result.output
