"""Receiving result files across contacts: pieces, gaps, resends, digests."""

from __future__ import annotations

import hashlib

from common.dictionary.apps.compute import CHUNK_BYTES
from ground.archive import Archive
from ground.control.commanding import Commanding
from ground.control.files import FileReceiver


class World:
    def __init__(self, tmp_path) -> None:
        self.time = 1000.0
        self.contact = True
        self.sent: list[bytes] = []
        self.archive = Archive(tmp_path / "archive.sqlite")
        self.commanding = Commanding(self.archive, ["SAT-01"], lambda: self.time,
                                     lambda command, raw: self.sent.append(raw),
                                     lambda sat, now: self.contact, lambda c, s: None)
        self.files = FileReceiver(tmp_path / "downlink", self.archive, self.commanding,
                                  lambda: self.time, lambda sat, now: self.contact)

    def requests(self, name: str) -> list:
        return [c for c in self.commanding.commands.values() if c.name == name]


def pieces(data: bytes) -> list[tuple[int, bytes]]:
    return [(offset, data[offset:offset + CHUNK_BYTES])
            for offset in range(0, len(data), CHUNK_BYTES)]


def test_a_file_cut_by_loss_of_signal_completes_after_a_resend_with_no_piece_twice(
        tmp_path) -> None:
    world = World(tmp_path)
    data = bytes(range(256)) * 40  # 10240 bytes: 10 pieces
    digest = hashlib.sha256(data).digest()
    meta = {"job_id": 7, "size": len(data), "sha256": digest}
    world.files.report("SAT-01", "COMPUTE.FILE_METADATA", meta, world.time)
    for offset, piece in pieces(data)[:6]:  # loss of signal after six pieces
        world.files.report("SAT-01", "COMPUTE.FILE_DATA",
                           {"job_id": 7, "offset": offset, "data": piece}, world.time)
    world.contact = False
    world.time += 3600
    world.files.tick()
    assert not world.requests("COMPUTE.RESEND_RESULT"), "out of contact: nothing asked yet"
    world.contact = True
    world.files.tick()
    (resend,) = world.requests("COMPUTE.RESEND_RESULT")
    assert resend.args == {"job_id": 7, "ranges": [[6 * CHUNK_BYTES, 4 * CHUNK_BYTES]]}
    world.commanding._finish(resend, "COMPLETED", world.time)
    for offset, piece in pieces(data)[5:]:  # the sixth comes twice
        world.files.report("SAT-01", "COMPUTE.FILE_DATA",
                           {"job_id": 7, "offset": offset, "data": piece}, world.time)
    world.files.report("SAT-01", "COMPUTE.FILE_EOF", meta, world.time)
    transfer = world.files.transfers[("SAT-01", 7)]
    assert transfer.state == "VERIFIED" and transfer.duplicates == 1
    assert transfer.path.read_bytes() == data
    assert world.requests("COMPUTE.RESULT_RECEIVED")[0].args == {"job_id": 7}
    world.archive.commit()
    rows = world.archive.query("SELECT offset, duplicate FROM transfer_pieces WHERE job_id = 7")
    assert len(rows) == 11 and sum(row["duplicate"] for row in rows) == 1
    assert len({row["offset"] for row in rows}) == 10


def test_a_wrong_digest_asks_for_the_whole_file_again(tmp_path) -> None:
    world = World(tmp_path)
    data = b"x" * 3000
    meta = {"job_id": 3, "size": len(data), "sha256": hashlib.sha256(b"other").digest()}
    for offset, piece in pieces(data):
        world.files.report("SAT-01", "COMPUTE.FILE_DATA",
                           {"job_id": 3, "offset": offset, "data": piece}, world.time)
    world.files.report("SAT-01", "COMPUTE.FILE_EOF", meta, world.time)
    (resend,) = world.requests("COMPUTE.RESEND_RESULT")
    assert resend.args["ranges"] == [[0, 3000]]
    assert world.files.transfers[("SAT-01", 3)].state == "RECEIVING"
