"""The ground archive: SQLite (WAL) in the run directory.

Holds raw packets with their header fields, decoded parameters, events, the command history with
every verification stage, the contact plan and alarms. Ingest is idempotent: a packet is known by
(satellite, APID, sequence count, CUC time), so a packet played back twice is stored once. One
writer (ground control); any number of readers (the report, tests, the console).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ground import series

ARCHIVE_FILE = "archive.sqlite"
#: The layout of the tables below, kept in the file's ``user_version``; a file of another is
#: refused, not misread.
SCHEMA_VERSION = 3
#: The writer's page cache, in pages (8 MiB of SQLite's 4 KiB pages).
CACHE_PAGES = 2000

SCHEMA = """
CREATE TABLE IF NOT EXISTS packets (
    id INTEGER PRIMARY KEY,
    satellite TEXT NOT NULL,
    apid INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    type TEXT NOT NULL,
    service INTEGER NOT NULL,
    subtype INTEGER NOT NULL,
    time REAL NOT NULL,            -- packet time, Unix seconds (simulated)
    coarse INTEGER NOT NULL,
    fine INTEGER NOT NULL,
    received REAL NOT NULL,        -- ground reception, Unix seconds (simulated)
    vc INTEGER NOT NULL,           -- 0 real time, 1 playback
    station TEXT,
    raw BLOB NOT NULL,
    UNIQUE (satellite, apid, seq, coarse, fine)
);
CREATE INDEX IF NOT EXISTS packets_by_sat_apid_time ON packets (satellite, apid, time);
CREATE INDEX IF NOT EXISTS packets_by_time ON packets (time);
CREATE TABLE IF NOT EXISTS events (
    packet_id INTEGER PRIMARY KEY REFERENCES packets (id),
    satellite TEXT NOT NULL,
    app TEXT NOT NULL,
    name TEXT NOT NULL,
    severity INTEGER NOT NULL,
    time REAL NOT NULL,
    message TEXT NOT NULL,
    args TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_by_sat_time ON events (satellite, time);
CREATE TABLE IF NOT EXISTS commands (
    id INTEGER PRIMARY KEY,
    satellite TEXT NOT NULL,
    name TEXT NOT NULL,
    args TEXT NOT NULL,
    apid INTEGER NOT NULL,
    seq INTEGER,
    state TEXT NOT NULL,
    failure TEXT,
    release_at REAL,
    path TEXT,
    created REAL NOT NULL,
    raw BLOB,
    timeout REAL,
    retry_of INTEGER,
    sent_at REAL,
    uplink_s REAL                  -- from sending to arrival on board, seconds (simulated)
);
CREATE INDEX IF NOT EXISTS commands_by_sat ON commands (satellite, id);
CREATE TABLE IF NOT EXISTS command_stages (
    command_id INTEGER NOT NULL REFERENCES commands (id),
    stage TEXT NOT NULL,
    time REAL NOT NULL,
    detail TEXT,
    PRIMARY KEY (command_id, stage)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS contacts (
    satellite TEXT NOT NULL,
    station TEXT NOT NULL,
    aos REAL NOT NULL,
    tca REAL NOT NULL,
    los REAL NOT NULL,
    max_elevation REAL,            -- NULL for a relay window
    kind TEXT NOT NULL DEFAULT 'station',   -- 'station' or 'relay'
    PRIMARY KEY (satellite, station, aos)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS alarms (
    id INTEGER PRIMARY KEY,
    satellite TEXT NOT NULL,
    param TEXT NOT NULL,
    level TEXT NOT NULL,
    value REAL,
    time REAL NOT NULL,
    cleared REAL,
    acknowledged REAL,
    acknowledged_by TEXT
);
CREATE INDEX IF NOT EXISTS alarms_by_sat ON alarms (satellite, time);
CREATE TABLE IF NOT EXISTS transfers (
    satellite TEXT NOT NULL,
    job_id INTEGER NOT NULL,
    state TEXT NOT NULL,
    size INTEGER,
    sha256 TEXT,
    started REAL,
    finished REAL,
    PRIMARY KEY (satellite, job_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS transfer_pieces (
    satellite TEXT NOT NULL,
    job_id INTEGER NOT NULL,
    offset INTEGER NOT NULL,
    length INTEGER NOT NULL,
    time REAL NOT NULL,
    duplicate INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS pieces_by_job ON transfer_pieces (satellite, job_id, offset);
CREATE TABLE IF NOT EXISTS gaps (
    satellite TEXT NOT NULL,
    apid INTEGER NOT NULL,
    first_seq INTEGER NOT NULL,
    missing INTEGER NOT NULL,
    time REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS queues (
    satellite TEXT PRIMARY KEY,
    state TEXT NOT NULL            -- ENABLED, BLOCKED or DISABLED
);
"""


@dataclass(frozen=True)
class StoredPacket:
    """A packet as the archive keeps it."""

    satellite: str
    apid: int
    seq: int
    type: str
    service: int
    subtype: int
    time: float
    vc: int
    raw: bytes


class ArchiveError(RuntimeError):
    """An archive this version cannot read or write (the message says why and what to do)."""


def connect(path: str | Path, *, readonly: bool = False) -> sqlite3.Connection:
    """Open the archive (WAL mode: readers never block the writer)."""
    if readonly:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10.0)
    else:
        connection = sqlite3.connect(str(path), timeout=10.0)
    try:
        _check_version(connection, path)
        if not readonly:
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
            connection.execute(f"PRAGMA cache_size = {CACHE_PAGES}")
            connection.executescript(SCHEMA + series.SCHEMA)
            connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    except BaseException:
        connection.close()
        raise
    connection.row_factory = sqlite3.Row
    return connection


def _check_version(connection: sqlite3.Connection, path: str | Path) -> None:
    version = connection.execute("PRAGMA user_version").fetchone()[0]
    if version == SCHEMA_VERSION:
        return
    # Version 0: a new file (no tables yet), or one from before versions were written.
    if version == 0 and connection.execute(
            "SELECT 1 FROM sqlite_master WHERE name = 'packets'").fetchone() is None:
        return
    raise ArchiveError(f"{path}: archive layout {version}, this dawndusk reads layout "
                       f"{SCHEMA_VERSION} (parameters stored in segments since); play the run "
                       f"again to archive it anew")


class Archive:
    """The archive of one run."""

    def __init__(self, path: str | Path, *, readonly: bool = False) -> None:
        self.path = Path(path)
        self.db = connect(self.path, readonly=readonly)
        self.duplicates = 0
        self.series = series.SeriesStore(self.db)

    def close(self) -> None:
        """Commit and close."""
        self.commit()
        self.db.close()

    def commit(self) -> None:
        """Make what was written visible to readers (parameter values kept until now too)."""
        self.series.flush()
        self.db.commit()

    # --- ingest ----------------------------------------------------------------------------------

    def add_packet(self, satellite: str, apid: int, seq: int, type_: str, service: int,
                   subtype: int, time: float, coarse: int, fine: int, received: float, vc: int,
                   raw: bytes, station: str | None = None) -> int | None:
        """Store a packet; return its row id, or None if it was already stored."""
        cursor = self.db.execute(
            "INSERT OR IGNORE INTO packets (satellite, apid, seq, type, service, subtype, time,"
            " coarse, fine, received, vc, station, raw) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (satellite, apid, seq, type_, service, subtype, time, coarse, fine, received, vc,
             station, raw),
        )
        if cursor.rowcount == 0:
            self.duplicates += 1
            return None
        return cursor.lastrowid

    def add_params(self, packet_id: int, satellite: str, time: float,
                   values: dict[str, Any]) -> None:
        """Store the decoded parameters of a housekeeping packet (written at the next commit)."""
        self.series.add(packet_id, satellite, time, values)

    def add_event(self, packet_id: int, satellite: str, app: str, name: str, severity: int,
                  time: float, message: str, args: dict[str, Any]) -> None:
        """Store a decoded event."""
        self.db.execute(
            "INSERT OR IGNORE INTO events VALUES (?,?,?,?,?,?,?,?)",
            (packet_id, satellite, app, name, severity, time, message,
             json.dumps(args, default=str)),
        )

    def add_gap(self, satellite: str, apid: int, first_seq: int, missing: int,
                time: float) -> None:
        """Record packets found missing from a stream."""
        self.db.execute("INSERT INTO gaps VALUES (?,?,?,?,?)",
                        (satellite, apid, first_seq, missing, time))

    def transfer(self, satellite: str, job_id: int, *, state: str | None = None,
                 size: int | None = None, sha256: str | None = None,
                 time: float | None = None) -> None:
        """Create or update a result transfer's record."""
        self.db.execute(
            "INSERT OR IGNORE INTO transfers (satellite, job_id, state, started) VALUES (?,?,?,?)",
            (satellite, job_id, state or "RECEIVING", time))
        updates: dict[str, Any] = {"state": state, "size": size, "sha256": sha256}
        if state in ("VERIFIED", "CONFIRMED"):
            updates["finished"] = time
        for column, value in updates.items():
            if value is not None:
                self.db.execute(f"UPDATE transfers SET {column} = ? WHERE satellite = ? AND "
                                "job_id = ?", (value, satellite, job_id))

    def transfer_piece(self, satellite: str, job_id: int, offset: int, length: int, time: float,
                       duplicate: bool) -> None:
        """Log one piece of a result file as it came down."""
        self.db.execute("INSERT INTO transfer_pieces VALUES (?,?,?,?,?,?)",
                        (satellite, job_id, offset, length, time, int(duplicate)))

    def set_contacts(self, passes: Iterable[Any],
                     relayed: Iterable[tuple[str, str, float, float]] = ()) -> None:
        """Store the contact plan: station passes (``ground.passes.Pass`` objects) and relay
        windows (satellite, relay, start, end)."""
        self.db.executemany(
            "INSERT OR REPLACE INTO contacts VALUES (?,?,?,?,?,?,'station')",
            [(p.satellite, p.station, p.aos, p.tca, p.los, p.max_elevation_deg)
             for p in passes],
        )
        self.db.executemany(
            "INSERT OR REPLACE INTO contacts VALUES (?,?,?,?,?,NULL,'relay')",
            [(sat, relay, start, (start + end) / 2, end) for sat, relay, start, end in relayed],
        )
        self.commit()

    # --- commands --------------------------------------------------------------------------------

    def add_command(self, satellite: str, name: str, args: dict[str, Any], apid: int,
                    created: float, release_at: float | None = None,
                    timeout: float | None = None, retry_of: int | None = None) -> int:
        """A new command in the history; returns its id."""
        cursor = self.db.execute(
            "INSERT INTO commands (satellite, name, args, apid, state, release_at, created, "
            "timeout, retry_of) VALUES (?,?,?,?,?,?,?,?,?)",
            (satellite, name, json.dumps(args, default=str), apid, "QUEUED", release_at,
             created, timeout, retry_of),
        )
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def set_command(self, command_id: int, **fields: Any) -> None:
        """Update a command's columns (state, seq, failure, path, uplink_s, raw)."""
        names = ", ".join(f"{name} = ?" for name in fields)
        self.db.execute(f"UPDATE commands SET {names} WHERE id = ?",
                        (*fields.values(), command_id))

    def add_stage(self, command_id: int, stage: str, time: float, detail: str | None = None
                  ) -> None:
        """Time-stamp a verification stage of a command (the first time it is reached)."""
        self.db.execute("INSERT OR IGNORE INTO command_stages VALUES (?,?,?,?)",
                        (command_id, stage, time, detail))

    def commands(self) -> list[dict[str, Any]]:
        """Every command record (for ground control to resume after a restart)."""
        rows = self.db.execute("SELECT * FROM commands ORDER BY id")
        return [{**dict(row), "args": json.loads(row["args"])} for row in rows]

    def stages(self, command_id: int) -> list[tuple[str, float, str | None]]:
        """A command's stages in the order they were reached."""
        rows = self.db.execute(
            "SELECT stage, time, detail FROM command_stages WHERE command_id = ? ORDER BY time",
            (command_id,))
        return [(row["stage"], row["time"], row["detail"]) for row in rows]

    # --- alarms ----------------------------------------------------------------------------------

    def raise_alarm(self, satellite: str, param: str, level: str, value: float,
                    time: float) -> int:
        """A new alarm; returns its id."""
        cursor = self.db.execute(
            "INSERT INTO alarms (satellite, param, level, value, time) VALUES (?,?,?,?,?)",
            (satellite, param, level, value, time))
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def clear_alarm(self, alarm_id: int, time: float) -> None:
        """The parameter came back within limits."""
        self.db.execute("UPDATE alarms SET cleared = ? WHERE id = ?", (time, alarm_id))

    def acknowledge_alarm(self, alarm_id: int, time: float, by: str) -> bool:
        """An operator acknowledged the alarm; False if there is no such open alarm."""
        cursor = self.db.execute(
            "UPDATE alarms SET acknowledged = ?, acknowledged_by = ? "
            "WHERE id = ? AND acknowledged IS NULL", (time, by, alarm_id))
        return cursor.rowcount == 1

    def alarms(self) -> list[sqlite3.Row]:
        """Every alarm, oldest first (for ground control to resume after a restart)."""
        return list(self.db.execute("SELECT * FROM alarms ORDER BY id"))

    # --- what survives a restart of ground control -----------------------------------------------

    def set_queue(self, satellite: str, state: str) -> None:
        """Remember a satellite's command queue state."""
        self.db.execute("INSERT OR REPLACE INTO queues VALUES (?, ?)", (satellite, state))
        self.commit()

    def queues(self) -> dict[str, str]:
        """Command queue states set by operators."""
        return {row["satellite"]: row["state"] for row in self.db.execute("SELECT * FROM queues")}

    def transfers(self) -> list[tuple[sqlite3.Row, set[int], int]]:
        """Every result transfer with the offsets of the pieces stored and the duplicates."""
        out = []
        for row in self.db.execute("SELECT * FROM transfers ORDER BY started"):
            pieces = self.db.execute(
                "SELECT offset, duplicate FROM transfer_pieces WHERE satellite = ? AND "
                "job_id = ?", (row["satellite"], row["job_id"])).fetchall()
            out.append((row, {p["offset"] for p in pieces if not p["duplicate"]},
                        sum(p["duplicate"] for p in pieces)))
        return out

    # --- queries ---------------------------------------------------------------------------------

    def query(self, sql: str, *args: Any) -> list[sqlite3.Row]:
        """Run a read-only query."""
        return list(self.db.execute(sql, args))

    def packets(self, satellite: str | None = None, apid: int | None = None,
                start: float | None = None, end: float | None = None) -> Iterator[StoredPacket]:
        """Stored packets in time order."""
        clauses, args = _filters(satellite=satellite, apid=apid, start=start, end=end)
        for row in self.db.execute(
                f"SELECT satellite, apid, seq, type, service, subtype, time, vc, raw "
                f"FROM packets{clauses} ORDER BY time, id", args):
            yield StoredPacket(*row)

    def parameter(self, satellite: str, name: str, start: float | None = None,
                  end: float | None = None) -> list[tuple[float, Any]]:
        """(time, value) of a parameter, in time order."""
        return [(time, value) for time, _packet, value
                in self.series.points(satellite, name, start, end)]

    def latest(self, satellite: str, name: str) -> tuple[float, Any] | None:
        """The most recent (time, value) of a parameter."""
        point = self.series.latest(satellite, name)
        return None if point is None else (point[0], point[2])

    def highest(self, satellite: str, names: tuple[str, ...]) -> list[tuple[float, Any]]:
        """(time, value) of the highest of several parameters at each time, in time order."""
        return self.series.highest(satellite, names)

    def events(self, satellite: str | None = None, start: float | None = None,
               end: float | None = None, name: str | None = None) -> list[dict[str, Any]]:
        """Events in time order."""
        clauses, args = _filters(satellite=satellite, start=start, end=end)
        if name is not None:
            clauses += " AND name = ?"
            args = (*args, name)
        rows = self.db.execute(
            f"SELECT satellite, app, name, severity, time, message, args FROM events{clauses}"
            " ORDER BY time, packet_id", args)
        return [{**dict(row), "args": json.loads(row["args"])} for row in rows]


def _filters(**criteria: Any) -> tuple[str, tuple[Any, ...]]:
    clauses, args = ["1=1"], []
    for key, value in criteria.items():
        if value is None:
            continue
        if key == "start":
            clauses.append("time >= ?")
        elif key == "end":
            clauses.append("time <= ?")
        else:
            clauses.append(f"{key} = ?")
        args.append(value)
    return " WHERE " + " AND ".join(clauses), tuple(args)
