"""The operator API client: one library for the console, scenario scripts and tests.

Async (:class:`Client`) and sync (:class:`SyncClient`, the same calls without ``await``)::

    async with Client(run_dir) as ground:
        handle = await ground.cmd("SAT-01", "FP.SET_MODE", mode="SAFE")
        await handle.await_complete(timeout=600)        # simulated seconds
        soc = await ground.wait_check("SAT-01", "EPS.BATTERY_SOC > 50", timeout=3600)

Waits count simulated time (the client follows the run's clock) and are guarded by wall time,
so every wait ends in success, failure or a timeout that says what it waited for, never a
hang. The client reconnects by itself: ZeroMQ re-dials, and the client knows ground control is
live again when its hello messages resume.
"""

from __future__ import annotations

import asyncio
import itertools
import operator
import re
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import msgpack
import structlog
import zmq

from common.clock import ClockFollower, SimClock
from common.curve import Curve
from common.endpoints import Endpoints
from common.runconfig import RunConfig
from common.runtime import initial_clock_state
from common.zmqloop import Readable, drain
from ground.protocol import FINAL_STATES, STAGES

_log = structlog.get_logger("client")

#: Wall seconds a request may wait for its reply.
REQUEST_WALL_S = 10.0
#: Wall seconds without a hello after which ground control is considered gone.
LIVENESS_WALL_S = 2.0


class GroundError(RuntimeError):
    """Ground control refused a request; the message says why."""


class CheckFailed(AssertionError):
    """A wait ended without its condition: the message reads as a sentence."""


_OPERATORS = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le,
              "==": operator.eq, "!=": operator.ne}
_CONDITION = re.compile(r"^\s*([A-Z][A-Z0-9_]*\.[A-Z][A-Z0-9_]*)\s*(>=|<=|==|!=|>|<)\s*(.+?)\s*$")


class Condition:
    """A condition on one parameter that describes itself: ``EPS.BATTERY_SOC > 50``."""

    def __init__(self, param: str, test: Callable[[Any], bool], text: str) -> None:
        self.param = param
        self.test = test
        self.text = text

    @classmethod
    def parse(cls, text: str) -> Condition:
        """From ``PARAM OP VALUE`` (VALUE a number, or a label such as SAFE)."""
        match = _CONDITION.match(text)
        if match is None:
            raise ValueError(f"not a condition: {text!r} (expected e.g. 'EPS.BATTERY_SOC > 50')")
        param, op, raw = match.groups()
        try:
            expected: Any = float(raw)
        except ValueError:
            expected = raw.strip("'\"")
        compare = _OPERATORS[op]

        def test(value: Any) -> bool:
            try:
                return bool(compare(value, expected))
            except TypeError:
                return False

        return cls(param, test, text.strip())

    def __str__(self) -> str:
        return self.text


class CommandHandle:
    """A command sent through ground control, followed through its stages."""

    def __init__(self, client: Client, record: dict[str, Any]) -> None:
        self.client = client
        self.id: int = record["id"]
        self.satellite: str = record["satellite"]
        self.name: str = record["name"]
        self.record = record
        self._changed = asyncio.Event()

    @property
    def state(self) -> str:
        """The latest stage reached (or the final state)."""
        return str(self.record["state"])

    @property
    def stages(self) -> list[tuple[str, float]]:
        """Every stage reached, with its simulated time."""
        return [(stage, when) for stage, when in self.record["stages"]]

    @property
    def path(self) -> str | None:
        """The way the command took to its satellite (``KASHGAR>SAT-01``, ``TL-1>SAT-03``),
        once the network has delivered it."""
        return self.record.get("path")

    @property
    def error(self) -> str | None:
        """Why the command failed or timed out (None otherwise)."""
        return self.record.get("failure")

    def is_success(self) -> bool:
        """True once the command completed."""
        return self.state == "COMPLETED"

    def _update(self, record: dict[str, Any]) -> None:
        self.record = record
        self._changed.set()

    async def refresh(self) -> dict[str, Any]:
        """Fetch the record from ground control."""
        reply = await self.client.request("command", command_id=self.id)
        self._update(reply["command"])
        return self.record

    def _reached(self, stage: str) -> bool:
        return stage in {name for name, _ in self.stages} or self.state in FINAL_STATES

    async def await_stage(self, stage: str, timeout: float = 600.0) -> CommandHandle:
        """Wait (simulated seconds) until ``stage`` is reached or the command has ended."""
        if stage not in STAGES and stage not in FINAL_STATES:
            raise ValueError(f"unknown stage {stage!r}; stages: {', '.join(STAGES)}")

        async def reached() -> None:
            while not self._reached(stage):
                self._changed.clear()
                try:
                    await asyncio.wait_for(self._changed.wait(), 1.0)
                except TimeoutError:
                    await self.refresh()  # an update may have been missed: ask

        await self.client.wait_sim(reached(), timeout,
                                   f"{self.name} (command {self.id}) to reach {stage}",
                                   lambda: f"last stage {self.state}")
        return self

    async def await_complete(self, timeout: float = 600.0) -> CommandHandle:
        """Wait until the command has ended (COMPLETED, FAILED, TIMEOUT or CANCELLED)."""
        return await self.await_stage("COMPLETED", timeout)

    def __repr__(self) -> str:
        return f"<command {self.id} {self.satellite} {self.name} {self.state}>"


class Client:
    """Async operator client of ground control."""

    def __init__(self, run: RunConfig | str | Path, name: str = "operator",
                 identity: str = "operator") -> None:
        self.run = run if isinstance(run, RunConfig) else RunConfig.load(run)
        self.name = name
        #: Whose CURVE key the client presents over tcp (it must be authorized).
        self.identity = identity
        self.endpoints = Endpoints(self.run)
        self.clock = SimClock(initial_clock_state(self.run))
        self.context: zmq.Context[Any] | None = None
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._handles: dict[int, CommandHandle] = {}
        self._listeners: list[tuple[str, asyncio.Queue[tuple[str, dict[str, Any]]]]] = []
        self._latest: dict[tuple[str, str], tuple[float, Any]] = {}
        self._tm_event = asyncio.Event()
        self._last_hello = -1e9
        self._hello = asyncio.Event()
        #: Messages from ground control not understood, by kind ("reply", "update").
        self.malformed: Counter[str] = Counter()

    # --- connection ------------------------------------------------------------------------------

    async def connect(self, wall_timeout: float = 30.0) -> Client:
        """Connect and wait until ground control is heard (its hello)."""
        self.context = zmq.Context()
        curve = Curve(self.run, self.identity)
        self.dealer = self.context.socket(zmq.DEALER)
        self.dealer.setsockopt(zmq.LINGER, 0)
        curve.connect_to(self.dealer, "GROUND")
        self.dealer.connect(self.endpoints.ground())
        self.sub = self.context.socket(zmq.SUB)
        self.sub.setsockopt(zmq.LINGER, 0)
        self.sub.setsockopt(zmq.RCVHWM, 100_000)
        self.sub.setsockopt(zmq.SUBSCRIBE, b"")
        curve.connect_to(self.sub, "GROUND")
        self.sub.connect(self.endpoints.ground_pub())
        self._follower = ClockFollower(self.clock, self.context, self.endpoints.clock())
        self._reply_reader = Readable(self.dealer, self._replies)
        self._readers = [self._reply_reader, Readable(self.sub, self._updates),
                         Readable(self._follower.socket, self._follower.drain)]
        try:
            await asyncio.wait_for(self._hello.wait(), wall_timeout)
        except TimeoutError:
            await self.close()
            raise ConnectionError(f"no ground control at {self.endpoints.ground()} within "
                                  f"{wall_timeout} s") from None
        except BaseException:
            # Cancelled while waiting (the console quit before ground control answered): a
            # context left open is destroyed by the collector at exit, and that waited forever
            # on its sockets' linger (seen: `dawndusk console` hung on quit).
            await self.close()
            raise
        return self

    @property
    def connected(self) -> bool:
        """True while ground control's hellos keep coming."""
        return time.monotonic() - self._last_hello < LIVENESS_WALL_S

    async def close(self) -> None:
        """Disconnect."""
        for reader in getattr(self, "_readers", []):
            reader.close()
        if self.context is not None:
            self.context.destroy(0)
            self.context = None

    async def __aenter__(self) -> Client:
        return await self.connect()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def _replies(self) -> None:
        for frames in drain(self.dealer, 500):
            try:
                reply = msgpack.unpackb(frames[-1], strict_map_key=False)
                if not isinstance(reply, dict):
                    raise TypeError(f"a reply is a map, not {type(reply).__name__}")
            except (ValueError, TypeError, msgpack.UnpackException) as exc:
                self._malformed("reply", frames, exc)
                continue
            reply_id = reply.get("id")
            future = self._pending.pop(reply_id, None) if isinstance(reply_id, int) else None
            if future is not None and not future.done():
                future.set_result(reply)

    def _updates(self) -> None:
        for frames in drain(self.sub, 1000):
            try:
                self._update(frames)
            except Exception as exc:  # one bad update must not cost the rest of the batch
                self._malformed("update", frames, exc)

    def _update(self, frames: list[bytes]) -> None:
        if len(frames) != 2:
            raise ValueError(f"an update has a topic and a body, not {len(frames)} frames")
        topic = frames[0].decode()
        message = msgpack.unpackb(frames[1], strict_map_key=False)
        if not isinstance(message, dict):
            raise TypeError(f"an update is a map, not {type(message).__name__}")
        if topic == "hello":
            self._last_hello = time.monotonic()
            self._hello.set()
            return
        if topic.startswith("tm/"):
            satellite = message["satellite"]
            for name, value in message["values"].items():
                self._latest[(satellite, name)] = (message["time"], value)
            self._tm_event.set()
        elif topic.startswith("cmd/"):
            handle = self._handles.get(message["command_id"])
            if handle is not None:
                stages = handle.record["stages"]
                if message.get("stage") is not None:
                    stages = [*stages, [message["stage"], message["time"]]]
                handle.record = {**handle.record, "state": message["state"],
                                 "failure": message.get("failure"), "stages": stages,
                                 "path": message.get("path"),
                                 "uplink_s": message.get("uplink_s")}
                handle._changed.set()
        for prefix, queue in self._listeners:
            if topic.startswith(prefix):
                queue.put_nowait((topic, message))

    def _malformed(self, what: str, frames: list[bytes], exc: Exception) -> None:
        """A message from ground control that could not be understood: counted in
        ``malformed`` (by kind) and logged, never fatal, and the messages after it are read."""
        self.malformed[what] += 1
        _log.warning("malformed message from ground control", kind=what,
                     count=self.malformed[what], error=repr(exc),
                     head=[frame[:32] for frame in frames[:3]])

    # --- requests --------------------------------------------------------------------------------

    async def request(self, op: str, **fields: Any) -> dict[str, Any]:
        """One request; raises :class:`GroundError` when refused, TimeoutError without reply."""
        request_id = next(self._ids)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        message = {"op": op, "id": request_id,
                   **{key: value for key, value in fields.items() if value is not None}}
        self.dealer.send(msgpack.packb(message), zmq.NOBLOCK)
        self._reply_reader.sent()  # the send may have taken the edge of a reply already here
        try:
            reply = await asyncio.wait_for(future, REQUEST_WALL_S)
        except TimeoutError:
            self._pending.pop(request_id, None)
            raise TimeoutError(f"ground control did not answer {op!r} within "
                               f"{REQUEST_WALL_S} s") from None
        if not reply.get("ok"):
            raise GroundError(reply.get("error", "refused"))
        return reply

    async def cmd(self, satellite: str, command: str, /, *, release_at: float | None = None,
                  timeout: float | None = None, **args: Any) -> CommandHandle:
        """Queue ``command`` (``APP.VERB``) for ``satellite``; returns its handle at once."""
        reply = await self.request("cmd", satellite=satellite, command=command, args=args,
                                   release_at=release_at, timeout=timeout)
        handle = CommandHandle(self, reply["command"])
        self._handles[handle.id] = handle
        return handle

    async def tlm(self, satellite: str, param: str) -> Any:
        """The latest value of ``param`` (None if never received)."""
        return (await self.request("tlm", satellite=satellite, param=param))["value"]

    async def events(self, satellite: str | None = None, since: float | None = None,
                     name: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
        """Events, oldest first."""
        reply = await self.request("events", satellite=satellite, since=since, name=name,
                                   limit=limit)
        return list(reply["events"])

    async def passes(self, satellite: str | None = None, start: float | None = None,
                     end: float | None = None) -> list[dict[str, Any]]:
        """Predicted contact windows."""
        reply = await self.request("passes", satellite=satellite, start=start, end=end)
        return list(reply["passes"])

    async def history(self, satellite: str | None = None) -> list[dict[str, Any]]:
        """Command records."""
        return list((await self.request("history", satellite=satellite))["commands"])

    async def outage(self, station: str, start: float, end: float, *,
                     announced: bool = False) -> dict[str, Any]:
        """Take a ground station or a relay out of service for [start, end] (simulated);
        ``announced``: ground control plans around it too."""
        return dict((await self.request("outage", station=station, start=start, end=end,
                                         announced=announced))["outage"])

    async def impair(self, satellite: str, start: float, end: float, *, loss: float = 0.0,
                     corruption: float = 0.0, direction: str = "both") -> dict[str, Any]:
        """Add loss or corruption to a satellite's link for [start, end]; loss 1 cuts it."""
        reply = await self.request("impair", satellite=satellite, start=start, end=end,
                                   loss=loss, corruption=corruption, direction=direction)
        return dict(reply["impairment"])

    async def transfers(self, satellite: str | None = None) -> list[dict[str, Any]]:
        """Result files coming down or arrived."""
        return list((await self.request("transfers", satellite=satellite))["transfers"])

    async def status(self) -> dict[str, Any]:
        """Contact, queues and counters."""
        return await self.request("status")

    async def sync(self) -> bool:
        """Have ground control commit everything it has taken in to the archive file (for a
        reader of the file, such as a test or a report, that needs what was just seen live);
        return whether it is still reading a backlog from the space link."""
        return bool((await self.request("sync")).get("reading"))

    async def caught_up(self, wall_timeout: float = 60.0) -> bool:
        """Wait until ground control has read everything the space link has delivered and
        committed it (at most ``wall_timeout`` wall seconds: a machine that cannot keep up
        with the clock's rate leaves it behind); return whether it caught up."""
        deadline = time.monotonic() + wall_timeout
        while await self.sync():
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.05)
        return True

    async def alarms(self, include_all: bool = False) -> list[dict[str, Any]]:
        """Alarms not yet acknowledged (or all)."""
        return list((await self.request("alarms", all=include_all))["alarms"])

    async def ack(self, alarm_id: int) -> dict[str, Any]:
        """Acknowledge an alarm."""
        return dict((await self.request("ack", alarm_id=alarm_id, by=self.name))["alarm"])

    # --- the clock -------------------------------------------------------------------------------

    def now(self) -> float:
        """Simulated time now."""
        return self.clock.now()

    async def pause(self) -> None:
        """Pause the run's clock."""
        await self.request("clock", action="pause")

    async def resume(self) -> None:
        """Resume the run's clock."""
        await self.request("clock", action="resume")

    async def set_rate(self, rate: float) -> None:
        """Change the run's clock rate."""
        await self.request("clock", action="rate", rate=rate)

    # --- waiting ---------------------------------------------------------------------------------

    async def wait_sim(self, awaitable: Any, timeout: float, what: str,
                       last: Callable[[], str] = lambda: "") -> Any:
        """Await ``awaitable`` for at most ``timeout`` simulated seconds (wall-guarded)."""
        start = self.clock.now()
        guard = 30.0 + 3.0 * timeout / max(self.clock.rate, 1e-6)
        task = asyncio.ensure_future(awaitable)
        try:
            return await asyncio.wait_for(self.clock.wait_for(task, timeout), guard)
        except TimeoutError:
            waited = self.clock.now() - start
            detail = last()
            raise CheckFailed(f"waited {waited:.1f} s (simulated) for {what}, in vain"
                              + (f"; {detail}" if detail else "")) from None

    async def wait_check(self, satellite: str, condition: str | Condition,
                         timeout: float = 600.0) -> Any:
        """Wait until a parameter satisfies ``condition``; returns the value that did."""
        check = Condition.parse(condition) if isinstance(condition, str) else condition
        key = (satellite, check.param)
        value = await self.tlm(satellite, check.param)
        if value is not None:
            self._latest.setdefault(key, (self.clock.now(), value))

        async def satisfied() -> Any:
            while True:
                latest = self._latest.get(key)
                if latest is not None and check.test(latest[1]):
                    return latest[1]
                self._tm_event.clear()
                try:
                    await asyncio.wait_for(self._tm_event.wait(), 1.0)
                except TimeoutError:
                    fresh = await self.tlm(satellite, check.param)
                    if fresh is not None:
                        self._latest[key] = (self.clock.now(), fresh)

        def last() -> str:
            latest = self._latest.get(key)
            return "never received" if latest is None else f"last value {latest[1]!r}"

        return await self.wait_sim(satisfied(), timeout, f"{satellite} {check}", last)

    async def subscribe(self, prefix: str = "") -> AsyncIterator[tuple[str, dict[str, Any]]]:
        """Live updates whose topic starts with ``prefix`` (``tm/SAT-01``, ``event/``, ...)."""
        queue: asyncio.Queue[tuple[str, dict[str, Any]]] = asyncio.Queue()
        entry = (prefix, queue)
        self._listeners.append(entry)
        try:
            while True:
                yield await queue.get()
        finally:
            self._listeners.remove(entry)


class SyncClient:
    """The same client without ``await``: an event loop runs in a background thread."""

    def __init__(self, run: RunConfig | str | Path, name: str = "operator") -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="ground-client",
                                        daemon=True)
        self._thread.start()
        self._client = self._call(self._make(run, name))

    async def _make(self, run: RunConfig | str | Path, name: str) -> Client:
        return await Client(run, name).connect()

    def _call(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._client, name)
        if not callable(attr) or not asyncio.iscoroutinefunction(attr):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            result = self._call(attr(*args, **kwargs))
            return SyncHandle(self, result) if isinstance(result, CommandHandle) else result

        return call

    def close(self) -> None:
        """Disconnect and stop the background loop."""
        self._call(self._client.close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def __enter__(self) -> SyncClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class SyncHandle:
    """A :class:`CommandHandle` for synchronous code."""

    def __init__(self, client: SyncClient, handle: CommandHandle) -> None:
        self._client = client
        self._handle = handle

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._handle, name)
        if callable(attr) and asyncio.iscoroutinefunction(attr):
            def call(*args: Any, **kwargs: Any) -> Any:
                result = self._client._call(attr(*args, **kwargs))
                return self if result is self._handle else result
            return call
        return attr

    def __repr__(self) -> str:
        return repr(self._handle)
