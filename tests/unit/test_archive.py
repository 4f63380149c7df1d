"""The ground archive's parameter series: what goes in comes out, by satellite and name."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ground.archive import CACHE_PAGES_PER_SERIES, Archive


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
    assert archive.parameter("SAT-01", "HK.ON")[0] == (10.0, 1)  # a bool is stored as 0/1
    assert archive.latest("SAT-01", "HK.TEMP") == (30.0, 3.0)
    assert archive.latest("SAT-02", "HK.MODE") is None
    assert archive.parameter("SAT-03", "HK.TEMP") == []


def test_two_packets_at_the_same_time_keep_both_values(archive: Archive) -> None:
    for seq, value in enumerate((1, 2)):
        archive.add_params(_packet(archive, "SAT-01", seq, 5.0), "SAT-01", 5.0, {"X.N": value})
    assert archive.parameter("SAT-01", "X.N") == [(5.0, 1), (5.0, 2)]
    assert archive.latest("SAT-01", "X.N") == (5.0, 2)


def test_values_of_other_types_are_stored_as_text(archive: Archive) -> None:
    archive.add_params(_packet(archive, "SAT-01", 0, 1.0), "SAT-01", 1.0,
                       {"X.LIST": [1, 2], "X.NONE": None, "X.RAW": b"\x01"})
    assert archive.latest("SAT-01", "X.LIST") == (1.0, "[1, 2]")
    assert archive.latest("SAT-01", "X.NONE") == (1.0, None)
    assert archive.latest("SAT-01", "X.RAW") == (1.0, b"\x01")


def test_a_reader_sees_the_writers_series(archive: Archive, tmp_path: Path) -> None:
    archive.add_params(_packet(archive, "SAT-01", 0, 1.0), "SAT-01", 1.0, {"X.N": 7})
    archive.commit()
    reader = Archive(tmp_path / "archive.sqlite", readonly=True)
    try:
        assert reader.parameter("SAT-01", "X.N") == [(1.0, 7)]
    finally:
        reader.db.close()


def test_the_writer_cache_grows_with_the_series_it_keeps(archive: Archive) -> None:
    def cache_pages() -> int:
        return int(archive.db.execute("PRAGMA cache_size").fetchone()[0])

    values = {f"X.P{index}": index for index in range(3000)}
    archive.add_params(_packet(archive, "SAT-01", 0, 1.0), "SAT-01", 1.0, values)
    assert cache_pages() >= CACHE_PAGES_PER_SERIES * len(values)
    assert archive.latest("SAT-01", "X.P2999") == (1.0, 2999)


def test_an_archive_of_an_earlier_layout_is_refused_by_name(tmp_path: Path) -> None:
    import sqlite3

    from ground.archive import ArchiveError

    path = tmp_path / "old.sqlite"
    old = sqlite3.connect(path)
    old.execute("CREATE TABLE packets (id INTEGER PRIMARY KEY)")
    old.execute("CREATE TABLE params (packet_id, satellite, name, time, value)")
    old.commit()
    old.close()
    for readonly in (False, True):
        with pytest.raises(ArchiveError, match="archive layout 0, this dawndusk reads layout 2"):
            Archive(path, readonly=readonly)


def test_dawndusk_report_names_an_archive_it_cannot_read(tmp_path: Path) -> None:
    import sqlite3

    from click.testing import CliRunner

    from ground.archive import ARCHIVE_FILE
    from scenarios.cli.runs import report_cmd

    old = sqlite3.connect(tmp_path / ARCHIVE_FILE)
    old.execute("CREATE TABLE packets (id INTEGER PRIMARY KEY)")
    old.commit()
    old.close()
    result = CliRunner().invoke(report_cmd, [str(tmp_path)])
    assert result.exit_code == 1
    assert "archive layout 0" in result.output and "Traceback" not in result.output
