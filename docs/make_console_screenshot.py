"""Make docs/console.svg: the operator console on a running four-satellite fleet (relays on).

Run from the project root: ``.venv/bin/python docs/make_console_screenshot.py``.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ground.console.app import Console
from tests.process.fleet import MARCH, Fleet, launch

COMMANDS = ("SAT-01 EXEC.PING", "SAT-02 COMPUTE.LIST_JOBS", "SAT-03 FP.REPORT_MONITORS",
            "SAT-01 HK.REPORT_HK structure=EPS")


async def shoot(fleet: Fleet, target: Path) -> None:
    app = Console(fleet.run)
    async with app.run_test(size=(150, 46)) as pilot:
        for _ in range(200):
            if app.client is not None and app.connected:
                break
            await pilot.pause(0.1)
        for line in COMMANDS:
            app.query_one("#command").value = line  # type: ignore[attr-defined]
            await pilot.press("enter")
            await pilot.pause(1.0)
        await pilot.pause(6.0)  # their stages come in
        app.query_one("#command").value = ""  # type: ignore[attr-defined]
        await pilot.press(*"SAT-02 COMPUTE.SET_POWER_CAP wa")  # help while typing
        await pilot.pause(1.0)
        app.save_screenshot(str(target))


def main() -> None:
    run_dir = Path(tempfile.mkdtemp(prefix="dd-shot-", dir="/tmp")) / "run"
    fleet = launch(run_dir, satellites=4, slot_spacing_deg=20.0, stations=("polar",),
                   with_ground=True, with_sim=True, rate=20.0,
                   start=MARCH.timestamp() + 2700, link={"relays": ["tianlian"]})
    try:
        asyncio.run(shoot(fleet, Path(__file__).with_name("console.svg")))
    finally:
        fleet.stop()


if __name__ == "__main__":
    main()
