"""The operator console, driven headless with Textual's pilot against a real fleet."""

from __future__ import annotations

import asyncio

import pytest
from textual.widgets import DataTable, Input, RichLog, Static

from ground.console.app import Console
from tests.process.fleet import launch
from tests.process.test_ground import inside_a_long_window

pytestmark = pytest.mark.process


@pytest.fixture
def fleet(tmp_path):
    fleet = launch(tmp_path / "run", stations=("polar",), with_ground=True, with_sim=False,
                   rate=20.0, start=inside_a_long_window())
    try:
        yield fleet
    finally:
        fleet.stop()


async def until(pilot, predicate, what: str, wall_s: float = 20.0) -> None:
    for _ in range(int(wall_s / 0.1)):
        if predicate():
            return
        await pilot.pause(0.1)
    raise AssertionError(f"the console never showed {what}")


def history(app: Console) -> list[list[str]]:
    table = app.query_one("#history", DataTable)
    return [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]


def message(app: Console) -> str:
    return str(app.query_one("#message", Static).render())


async def test_console_commands_events_refusals_and_reconnection(fleet) -> None:
    app = Console(fleet.run)
    async with app.run_test(size=(150, 50)) as pilot:
        await until(pilot, lambda: app.client is not None and app.connected, "a connection")
        # A command typed with completion, followed to Completed.
        await pilot.press(*"SA", "tab", *"EXEC.NO", "tab")
        assert app.query_one("#command", Input).value == "SAT-01 EXEC.NOOP "
        assert "EXEC.NOOP" in str(app.query_one("#help", Static).render())
        await pilot.press("enter")
        await until(pilot, lambda: any(row[3] == "COMPLETED" for row in history(app)),
                    "the command completed")
        stages = history(app)[0][4]
        assert stages.startswith("QUEUED → RELEASED → SENT") and stages.endswith("COMPLETED")
        # Its event shows in the log.
        log = app.query_one("#events", RichLog)
        await until(pilot, lambda: any("EXEC.NOOP" in line.text for line in log.lines),
                    "the NOOP event")
        # A bad argument is refused before it is queued, with its range.
        await pilot.press(*"SAT-01 COMPUTE.SET_POWER_CAP watts=-3", "enter")
        assert "refused" in message(app) and "0..100000" in message(app)
        assert len(history(app)) == 1
        # Argument help while typing; enumeration completion.
        app.query_one("#command", Input).value = ""
        await pilot.press(*"SAT-01 FP.SET_MODE mode=S", "tab")
        assert app.query_one("#command", Input).value == "SAT-01 FP.SET_MODE mode=SAFE "
        app.query_one("#command", Input).value = ""
        # Ground control goes away and comes back.
        await asyncio.get_running_loop().run_in_executor(None, fleet.stop_ground)
        await until(pilot, lambda: not app.connected, "disconnected")
        assert "disconnected" in str(app.query_one("#clock", Static).render())
        fleet.start_ground()
        await until(pilot, lambda: app.connected, "live again", wall_s=40.0)
        assert "live" in str(app.query_one("#clock", Static).render())
        app.save_screenshot(str(fleet.run.path / "console.svg"))
