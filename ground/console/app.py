"""The operator console: the fleet at a glance, telemetry, events, alarms, passes, commands.

A Textual application on :class:`ground.client.Client`. It never blocks on the network: every
request has a timeout, updates arrive on the client's subscription, and when ground control
goes away the header says "disconnected" until its hellos come back (the client re-dials by
itself).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any, ClassVar

from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.css.query import NoMatches
from textual.suggester import Suggester
from textual.widgets import DataTable, Footer, Input, RichLog, Static, TabbedContent, TabPane

from common.dictionary import DICTIONARY
from common.runconfig import RunConfig
from ground.client import Client, GroundError
from ground.console.completion import LineError, complete, help_for, parse_line

SEVERITY_STYLE = {1: "white", 2: "yellow", 3: "dark_orange", 4: "bold red"}
LEVEL_STYLE = {"warning": "bold yellow", "danger": "bold white on red"}
#: Simulated seconds between reloads of the pass timeline (it lists the next 24 h; a pass
#: lasts about ten minutes).
PASSES_REFRESH_S = 600.0
FLEET_PARAMS = ("FP.MODE", "EPS.BATTERY_SOC", "COMPUTE.JOBS_RUNNING")


def _hms(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    seconds = max(0, int(seconds))
    return f"{seconds // 3600:d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


class CommandSuggester(Suggester):
    """Completion of satellites, commands, argument names and labels."""

    def __init__(self, satellites: list[str]) -> None:
        super().__init__(use_cache=False, case_sensitive=True)
        self.satellites = satellites

    async def get_suggestion(self, value: str) -> str | None:
        return complete(value, self.satellites)


class CommandInput(Input):
    """The command line: Tab accepts the completion offered, as in a shell."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("tab", "cursor_right", "complete", show=False, priority=True),
    ]


class Console(App[None]):
    """The operator console of one run."""

    TITLE = "dawndusk console"
    CSS = """
    #clock { height: 1; background: $boost; padding: 0 1; }
    #top { height: 1fr; }
    #fleet { width: 60%; }
    #telemetry { width: 40%; }
    #events { height: 12; border: round $panel; }
    #tabs { height: 14; }
    #help { height: 1; color: $text-muted; padding: 0 1; }
    #message { height: 1; padding: 0 1; }
    """
    # Function keys, so that typing a command never triggers one.
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f5", "pause", "pause/resume"),
        Binding("f6", "slower", "rate ÷2"),
        Binding("f7", "faster", "rate ×2"),
        Binding("f8", "ack", "acknowledge alarm"),
        Binding("ctrl+q", "quit", "quit"),
    ]

    def __init__(self, run: RunConfig) -> None:
        super().__init__()
        self.run_config = run
        self.satellites = list(run.satellites)
        self.client: Client | None = None
        self.values: dict[str, dict[str, Any]] = {s: {} for s in self.satellites}
        self.status: dict[str, Any] = {}
        self.selected = self.satellites[0] if self.satellites else ""
        self.commands: dict[int, dict[str, Any]] = {}
        self.alarm_rows: dict[int, dict[str, Any]] = {}
        self.connected = False
        self._passes_loaded = -float("inf")

    # --- layout ---------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Static("connecting…", id="clock")
        with Horizontal(id="top"):
            yield DataTable(id="fleet", cursor_type="row")
            yield DataTable(id="telemetry")
        yield RichLog(id="events", max_lines=500, markup=False)
        with TabbedContent(id="tabs"):
            with TabPane("Commands", id="tab-history"):
                yield DataTable(id="history", cursor_type="row")
            with TabPane("Alarms", id="tab-alarms"):
                yield DataTable(id="alarms", cursor_type="row")
            with TabPane("Passes", id="tab-passes"):
                yield DataTable(id="passes")
        yield Static(help_for(""), id="help")
        yield CommandInput(placeholder="SAT APP.VERB name=value …", id="command",
                           suggester=CommandSuggester(self.satellites))
        yield Static("", id="message")
        yield Footer()

    def on_mount(self) -> None:
        fleet = self.query_one("#fleet", DataTable)
        for label, width in (("satellite", 10), ("mode", 9), ("battery %", 9),
                             ("hottest °C", 10), ("jobs", 4), ("link", 18),
                             ("next AOS / LOS", 16)):
            fleet.add_column(label, width=width)
        for satellite in self.satellites:
            fleet.add_row(satellite, "—", "—", "—", "—", "—", "—", key=satellite)
        self.query_one("#telemetry", DataTable).add_columns("parameter", "value", "unit")
        history = self.query_one("#history", DataTable)
        for label, width in (("id", 4), ("satellite", 9), ("command", 24), ("state", 10),
                             ("stages", 66), ("path", 22)):
            history.add_column(label, width=width)
        self.query_one("#alarms", DataTable).add_columns("id", "satellite", "parameter",
                                                         "level", "value", "state")
        self.query_one("#passes", DataTable).add_columns("satellite", "station", "AOS", "LOS",
                                                         "max el")
        self.query_one("#command", Input).focus()
        self.run_worker(self._connect(), exclusive=True, group="connect")
        self.set_interval(0.5, self._tick)
        self.set_interval(2.0, self._refresh)

    # --- the connection -------------------------------------------------------------------------

    async def _connect(self) -> None:
        while self.client is None:
            client = Client(self.run_config, "console")
            try:
                await client.connect(wall_timeout=5.0)
            except ConnectionError:
                self.query_one("#clock", Static).update(
                    Text("disconnected — waiting for ground control…", style="bold red"))
                continue
            self.client = client
        self.run_worker(self._listen(), group="listen")
        await self._refresh()
        await self._load_events()
        await self._load_passes()

    async def _listen(self) -> None:
        assert self.client is not None
        async for topic, message in self.client.subscribe(""):
            kind = topic.split("/")[0]
            if kind == "tm":
                self.values[message["satellite"]].update(message["values"])
                if message["satellite"] == self.selected:
                    self._show_telemetry()
            elif kind == "event":
                self._log_event(message)
            elif kind == "cmd":
                record = self.commands.setdefault(message["command_id"], {
                    "id": message["command_id"], "satellite": message["satellite"],
                    "name": message["name"], "stages": []})
                record["state"] = message["state"]
                record["path"] = message.get("path")
                if message.get("stage") is not None:
                    record.setdefault("stages", []).append([message["stage"], message["time"]])
                self._show_command(record)
            elif kind == "alarm":
                self._show_alarm(message)

    async def _request(self, coroutine: Any) -> Any:
        try:
            return await asyncio.wait_for(coroutine, 5.0)
        except (TimeoutError, GroundError, ConnectionError) as exc:
            self._say(f"{exc}", "bold red")
            return None

    async def _refresh(self) -> None:
        # A refresh waits on ground control several times; the console may close meanwhile
        # (its widgets go before its timers' callbacks end): then there is nothing to show.
        # (Every widget it updates exists from on_mount on, so a missing one means just that.)
        try:
            await self._refresh_views()
        except NoMatches:
            return

    async def _refresh_views(self) -> None:
        if self.client is None or not self.client.connected:
            return
        if abs(self.client.now() - self._passes_loaded) > PASSES_REFRESH_S:
            await self._load_passes()  # the timeline moves on with simulated time
        status = await self._request(self.client.status())
        if status is not None:
            self.status = status
        history = await self._request(self.client.history())
        for record in history or []:
            self.commands[record["id"]] = record
            self._show_command(record)
        alarms = await self._request(self.client.alarms(include_all=True))
        for alarm in alarms or []:
            self._show_alarm(alarm)

    async def _load_events(self) -> None:
        assert self.client is not None
        for event in (await self._request(self.client.events(limit=100))) or []:
            self._log_event(event)

    async def _load_passes(self) -> None:
        assert self.client is not None
        now = self._passes_loaded = self.client.now()
        table = self.query_one("#passes", DataTable)
        table.clear()
        for item in (await self._request(self.client.passes(start=now, end=now + 86400))) or []:
            table.add_row(item["satellite"], item["station"], _time(item["aos"]),
                          _time(item["los"]), f"{item['max_elevation_deg']:.0f}°")

    # --- periodic display -----------------------------------------------------------------------

    def _tick(self) -> None:
        clock = self.query_one("#clock", Static)
        if self.client is None:
            return
        live = self.client.connected
        if live != self.connected:
            self.connected = live
            self._say("connected" if live else "ground control lost; reconnecting…",
                      "green" if live else "bold red")
        state = self.client.clock.state
        rate = "paused" if state.paused else f"{state.rate:g}×"
        link = Text("live", style="bold green") if live else Text("disconnected",
                                                                 style="bold red")
        clock.update(Text.assemble(f"{_time(self.client.now())} UTC   {rate}   ", link))
        self._show_fleet()

    def _show_fleet(self) -> None:
        table = self.query_one("#fleet", DataTable)
        now = self.client.now() if self.client else 0.0
        for satellite in self.satellites:
            values = self.values[satellite]
            info = self.status.get("satellites", {}).get(satellite, {})
            temps = [v for k, v in values.items() if k.endswith("_TEMP")
                     and isinstance(v, int | float)]
            station = info.get("station")
            if station:
                countdown = f"LOS in {_hms(info.get('los', now) - now)}"
            else:
                countdown = (f"AOS in {_hms(info['next_aos'] - now)}" if info.get("next_aos")
                             else "—")
                # No station, but the network may reach it through a relay or a neighbour.
                station = info.get("path")
            row = [values.get("FP.MODE", "—"), _num(values.get("EPS.BATTERY_SOC")),
                   _num(max(temps) if temps else None),
                   str(values.get("COMPUTE.JOBS_RUNNING", "—")), station or "—", countdown]
            for column, value in enumerate(row, start=1):
                table.update_cell(satellite, table.ordered_columns[column].key, value)

    def _show_telemetry(self) -> None:
        table = self.query_one("#telemetry", DataTable)
        table.clear()
        for name, value in sorted(self.values.get(self.selected, {}).items()):
            param = DICTIONARY.params.get(name)
            style = ""
            if param is not None and param.limits and isinstance(value, int | float):
                style = LEVEL_STYLE.get(param.limits.level(float(value)) or "", "")
            table.add_row(name, Text(_num(value), style=style), param.unit if param else "")

    def _log_event(self, event: dict[str, Any]) -> None:
        style = SEVERITY_STYLE.get(int(event.get("severity") or 1), "white")
        line = Text(f"{_time(event['time'])} {event['satellite']} {event['name']}: "
                    f"{event.get('message', '')}", style=style)
        self.query_one("#events", RichLog).write(line)

    def _show_command(self, record: dict[str, Any]) -> None:
        table = self.query_one("#history", DataTable)
        stages = " → ".join(stage for stage, _ in record.get("stages", []))
        key = str(record["id"])
        cells = [str(record["id"]), record["satellite"], record["name"],
                 record.get("state", "?"), stages, record.get("path") or ""]
        if key in table.rows:
            for column, value in enumerate(cells):
                table.update_cell(key, table.ordered_columns[column].key, value)
        else:
            table.add_row(*cells, key=key)

    def _show_alarm(self, alarm: dict[str, Any]) -> None:
        table = self.query_one("#alarms", DataTable)
        key = str(alarm["alarm_id"])
        self.alarm_rows[alarm["alarm_id"]] = alarm
        style = LEVEL_STYLE.get(alarm["level"], "")
        cells = [key, alarm["satellite"], alarm["param"], Text(alarm["level"], style=style),
                 _num(alarm["value"]), alarm["state"]]
        if key in table.rows:
            for column, value in enumerate(cells):
                table.update_cell(key, table.ordered_columns[column].key, value)
        else:
            table.add_row(*cells, key=key)

    def _say(self, text: str, style: str = "") -> None:
        self.query_one("#message", Static).update(Text(text, style=style))

    # --- input ------------------------------------------------------------------------------------

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id == "fleet" and event.row_key.value in self.values:
            self.selected = str(event.row_key.value)
            self._show_telemetry()

    def on_input_changed(self, event: Input.Changed) -> None:
        self.query_one("#help", Static).update(help_for(event.value))

    async def on_input_submitted(self, event: Input.Submitted) -> None:
        line = event.value.strip()
        if not line:
            return
        try:
            parsed = parse_line(line, self.satellites)
        except LineError as exc:
            self._say(f"refused: {exc}", "bold red")
            return
        if self.client is None:
            self._say("not connected to ground control", "bold red")
            return
        handle = await self._request(self.client.cmd(parsed.satellite, parsed.command.name,
                                                     **parsed.args))
        if handle is not None:
            self.commands[handle.id] = handle.record
            self._show_command(handle.record)
            self._say(f"queued #{handle.id}: {parsed.command.name} for {parsed.satellite}",
                      "green")
            event.input.value = ""

    async def action_pause(self) -> None:
        if self.client is not None:
            if self.client.clock.state.paused:
                await self._request(self.client.resume())
            else:
                await self._request(self.client.pause())

    async def action_faster(self) -> None:
        if self.client is not None:
            await self._request(self.client.set_rate(self.client.clock.state.rate * 2))

    async def action_slower(self) -> None:
        if self.client is not None:
            await self._request(self.client.set_rate(max(1.0, self.client.clock.state.rate / 2)))

    async def action_ack(self) -> None:
        table = self.query_one("#alarms", DataTable)
        if self.client is None or table.row_count == 0:
            return
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        if key is None:
            return
        alarm = await self._request(self.client.ack(int(key)))
        if alarm is not None:
            self._show_alarm(alarm)
            self._say(f"alarm {key} acknowledged", "green")

    async def on_unmount(self) -> None:
        if self.client is not None:
            await self.client.close()


def _time(unix: float) -> str:
    return dt.datetime.fromtimestamp(unix, dt.UTC).strftime("%m-%d %H:%M:%S")


def _num(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value)
