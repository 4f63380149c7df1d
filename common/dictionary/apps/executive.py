"""EXEC: the satellite executive — bus owner, app supervisor and radio."""

from __future__ import annotations

from collections.abc import Sequence

from common.dictionary.model import App, Arg, Event, Param, Severity, function
from common.dictionary.standard import REJECT_REASON, define_app, heartbeat_watch_params
from common.dictionary.types import Enum, Float, Int, UInt

APID = 0x010

APP_STATE = Enum({"STOPPED": 0, "STARTING": 1, "RUNNING": 2, "BACKOFF": 3, "FAILED": 4})
#: Why a protected telecommand was refused (see common.sdls.Reason).
AUTH_REASON = Enum({"TOO_SHORT": 1, "UNKNOWN_SPI": 2, "INACTIVE_SPI": 3, "BAD_MAC": 4,
                    "REPLAY": 5, "OUT_OF_WINDOW": 6})


def define(supervised: Sequence[App]) -> App:
    """The executive of a satellite whose child processes are the ``supervised`` apps."""
    apps = Enum({app.name: index for index, app in enumerate(supervised, start=1)})
    app_arg = Arg("app", apps, "application")
    _U32 = UInt(32)
    table = tuple(
        param
        for app in supervised
        for param in (
            Param("EXEC", f"{app.name}_STATE", APP_STATE, f"{app.title} process state"),
            Param("EXEC", f"{app.name}_PID", _U32, f"{app.title} process ID (0 when none)"),
            Param("EXEC", f"{app.name}_RESTARTS", UInt(16), f"{app.title} restarts"),
            Param("EXEC", f"{app.name}_LAST_EXIT", Int(16),
                  f"{app.title} last exit status (negative: signal)"),
        )
    )
    return define_app(
        "EXEC",
        APID,
        "Executive",
        "Owns the satellite's software bus, starts and supervises the apps, and is the radio: "
        "telemetry to the downlink, uplinked telecommands onto the bus, and frames for other "
        "spacecraft onward over its inter-satellite links.",
        commands=(
            function("RESTART_APP", 16, "Stop an app and start it again (refused for an app "
                     "stopped by command: START_APP starts it).", app_arg),
            function("STOP_APP", 17, "Stop an app and keep it stopped (apps that share its "
                     "process start again without it).", app_arg),
            function("START_APP", 18, "Start a stopped app.", app_arg),
            function(
                "ACTIVATE_KEY", 19,
                "Telecommand authentication: accept only key SPI from now on (key rotation).",
                Arg("spi", UInt(16, 1, 255), "security parameter index of the key"),
            ),
        ),
        status=(
            Param("EXEC", "UPLINK_PACKETS", _U32, "telecommands received from the uplink"),
            Param("EXEC", "UPLINK_REJECTED", _U32, "uplinked packets rejected"),
            Param("EXEC", "DOWNLINK_PACKETS", _U32, "telemetry packets sent to the downlink"),
            Param("EXEC", "BUS_PACKETS", _U32, "packets through the software bus"),
            Param("EXEC", "APPS_RUNNING", UInt(8), "supervised apps running"),
            Param("EXEC", "AUTH_REJECTED", _U32, "uplinked telecommands failing authentication"),
            Param("EXEC", "ACTIVE_SPI", UInt(16), "key accepted for telecommands (0: none)"),
            Param("EXEC", "FORWARDED_FRAMES", _U32,
                  "frames for other spacecraft forwarded over inter-satellite links"),
            Param("EXEC", "FORWARDED_BYTES", _U32, "bytes of those frames", "B"),
            Param("EXEC", "TC_HELD", _U32,
                  "uplinked telecommands held for an app coming back, so far"),
            Param("EXEC", "TC_WAITING", UInt(16), "telecommands held now"),
            Param("EXEC", "TC_NOT_DELIVERED", _U32,
                  "telecommands refused: their app stopped, not back in time, or too many held"),
            *heartbeat_watch_params("EXEC"),
            *table,
        ),
        status_interval_s=10.0,
        events=(
            Event(
                16, "APP_STARTED", Severity.INFO, "{app} started with pid {pid}",
                (app_arg, Arg("pid", _U32, "process ID")),
            ),
            Event(
                17, "APP_EXITED", Severity.MEDIUM, "{app} exited with status {status}",
                (app_arg, Arg("status", Int(16), "exit status (negative: signal)")),
            ),
            Event(
                18, "APP_RESTARTING", Severity.MEDIUM,
                "{app} restart {restarts} in {delay:.1f} s",
                (app_arg, Arg("restarts", UInt(16), "restarts so far"),
                 Arg("delay", Float(32), "back-off delay", "s")),
            ),
            Event(19, "APP_STOPPED", Severity.INFO, "{app} stopped by command", (app_arg,)),
            Event(
                20, "APP_HEARTBEAT_LOST", Severity.HIGH,
                "{app} missed its heartbeat for {age:.0f} s",
                (app_arg, Arg("age", Float(32), "silence", "s")),
            ),
            Event(
                21, "UPLINK_REJECTED", Severity.MEDIUM, "uplinked packet rejected: {reason}",
                (Arg("reason", REJECT_REASON, "why"),),
            ),
            Event(
                22, "AUTH_REJECTED", Severity.HIGH,
                "telecommand refused by authentication: {reason} ({count} so far)",
                (Arg("reason", AUTH_REASON, "why"), Arg("count", _U32, "refusals so far")),
            ),
            Event(
                23, "KEY_ACTIVATED", Severity.MEDIUM, "telecommand key SPI {spi} now active",
                (Arg("spi", UInt(16), "security parameter index"),),
            ),
        ),
    )
