"""Ground control's ingest of housekeeping: archived, kept as the latest, checked, published."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from common.cuc import CucTime
from common.dictionary import DICTIONARY
from common.packets import TmPacket, encode
from ground.archive import Archive
from ground.control.alarms import Alarms
from ground.control.commanding import Commanding
from ground.control.ingest import Ingest

EPOCH = 1.8e9


def _nominal(name: str) -> float:
    """A value inside the parameter's warning band (0 if it has no limits)."""
    limits = DICTIONARY.params[name].limits
    if limits is None:
        return 0
    low, high = limits.warn_low, limits.warn_high
    if low is not None and high is not None:
        return (low + high) / 2
    return low + 1 if low is not None else (high - 1 if high is not None else 0)


class Ground:
    """An ingest with a real archive; what it publishes is kept."""

    def __init__(self, path: Path) -> None:
        self.archive = Archive(path)
        self.published: list[tuple[str, dict[str, Any]]] = []
        commanding = Commanding(self.archive, ["SAT-01"], lambda: EPOCH, lambda *_: None,
                                lambda *_: False, lambda *_: None)
        self.ingest = Ingest(self.archive, commanding, Alarms(self.archive, self.publish),
                             lambda: EPOCH, self.publish, None, auto_downlink=False)
        self.seq = 0

    def publish(self, topic: str, message: dict[str, Any]) -> None:
        self.published.append((topic, message))

    def eps(self, time: float, structure_name: str = "HK.EPS", **values: Any) -> None:
        """Ingest an HK.EPS report (or another of EPS values) at ``time`` with ``values``
        (the rest nominal)."""
        structure = DICTIONARY.structures[structure_name]
        base = {p.name: _nominal(p.name) for p in structure.params}
        base.update({f"EPS.{k.upper()}": v for k, v in values.items()})
        data = DICTIONARY.hk_app_data(structure, base)
        packet = TmPacket(structure.apid, 3, 25, data, self.seq, time=CucTime.from_unix(time))
        self.seq += 1
        self.ingest.packet("SAT-01", 0, "KSAT", encode(packet), EPOCH)


@pytest.fixture
def ground(tmp_path: Path) -> Iterator[Ground]:
    ground = Ground(tmp_path / "archive.sqlite")
    yield ground
    ground.archive.close()


def test_the_latest_value_is_the_newest_report_not_the_last_to_arrive(ground: Ground) -> None:
    assert ground.ingest.latest("SAT-01", "EPS.BATTERY_SOC") is None
    ground.eps(EPOCH + 10, battery_soc=70.0)
    ground.eps(EPOCH + 5, battery_soc=60.0)  # played back later: older
    assert ground.ingest.latest("SAT-01", "EPS.BATTERY_SOC") == (EPOCH + 10, 70.0)
    assert ground.ingest.latest("SAT-02", "EPS.BATTERY_SOC") is None
    ground.archive.commit()
    assert ground.archive.parameter("SAT-01", "EPS.BATTERY_SOC") == [
        (EPOCH + 5, 60.0), (EPOCH + 10, 70.0)]
    # Another structure carrying the parameter, at the same time: the last to arrive wins.
    ground.eps(EPOCH + 10, "SIM.SENSORS_EPS", battery_soc=71.0)
    assert ground.ingest.latest("SAT-01", "EPS.BATTERY_SOC") == (EPOCH + 10, 71.0)
    ground.eps(EPOCH + 10, battery_soc=72.0)
    assert ground.ingest.latest("SAT-01", "EPS.BATTERY_SOC") == (EPOCH + 10, 72.0)


def test_every_report_is_published_with_its_values_and_limits_raise_alarms(
        ground: Ground) -> None:
    ground.eps(EPOCH + 1, battery_soc=50.0)
    tm = [message for topic, message in ground.published if topic == "tm/SAT-01"]
    assert tm[-1]["structure"] == "HK.EPS" and tm[-1]["values"]["EPS.BATTERY_SOC"] == 50.0
    limits = DICTIONARY.params["EPS.BATTERY_SOC"].limits
    assert limits is not None and limits.danger_low is not None
    for second in range(2, 2 + limits.persistence):
        ground.eps(EPOCH + second, battery_soc=limits.danger_low - 1.0)
    alarms = ground.ingest.alarms.listing()
    assert [(a["param"], a["level"]) for a in alarms] == [("EPS.BATTERY_SOC", "danger")]
