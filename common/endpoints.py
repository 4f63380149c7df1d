"""Every ZeroMQ address of a run, derived in one place from the run configuration.

``ipc://`` sockets live in the run's short socket directory; ``tcp://`` ports are numbered from
the configured base: the run-wide endpoints first, then a block of ports per satellite.

>>> from common.runconfig import ClockAnchor, RunConfig
>>> run = RunConfig("/r", ("SAT-01",), ClockAnchor(0.0, 0.0), socket_dir="/tmp/dd-x")
>>> Endpoints(run).bus_in("SAT-01")
'ipc:///tmp/dd-x/SAT-01.bus.in'
>>> tcp = RunConfig("/r", ("SAT-01", "SAT-02"), ClockAnchor(0.0, 0.0), transport="tcp")
>>> Endpoints(tcp).downlink("SAT-02")
'tcp://127.0.0.1:25021'
"""

from __future__ import annotations

from common.runconfig import MAX_IPC_PATH, ConfigError, RunConfig

# Run-wide endpoints and their tcp port offsets.
_RUN_WIDE = {"clock": 0, "control": 1, "ground": 2, "ground.pub": 3, "link": 4, "link.down": 5}
_FIRST_SATELLITE_PORT = 10
# Per-satellite endpoints and their offsets within the satellite's block.
_PER_SATELLITE = {"bus.in": 0, "bus.out": 1, "uplink": 2, "downlink": 3}
_BLOCK = 8


class EndpointError(ConfigError):
    """An endpoint cannot be made (unknown satellite, or an ipc path too long for the OS)."""


class Endpoints:
    """The addresses of one run."""

    def __init__(self, run: RunConfig) -> None:
        self.run = run
        self._index = {name: i for i, name in enumerate(run.satellites)}

    def _address(self, name: str, port_offset: int) -> str:
        if self.run.transport == "tcp":
            return f"tcp://{self.run.tcp_host}:{self.run.tcp_base_port + port_offset}"
        if not self.run.socket_dir:
            raise EndpointError("ipc transport needs a socket_dir in the run configuration")
        path = f"{self.run.socket_dir}/{name}"
        if len(path.encode()) > MAX_IPC_PATH:
            raise EndpointError(
                f"ipc socket path is {len(path.encode())} bytes, the OS allows {MAX_IPC_PATH}: "
                f"{path} (use a shorter socket_dir, e.g. under /tmp)"
            )
        return f"ipc://{path}"

    def _satellite(self, satellite: str, kind: str) -> str:
        index = self._index.get(satellite)
        if index is None:
            known = ", ".join(self.run.satellites)
            raise EndpointError(f"satellite {satellite!r} is not in this run ({known})")
        offset = _FIRST_SATELLITE_PORT + index * _BLOCK + _PER_SATELLITE[kind]
        return self._address(f"{satellite}.{kind}", offset)

    def clock(self) -> str:
        """Where the clock master publishes clock states."""
        return self._address("clock", _RUN_WIDE["clock"])

    def control(self) -> str:
        """Where the launcher collects readiness and exit reports."""
        return self._address("control", _RUN_WIDE["control"])

    def ground(self) -> str:
        """Ground control's operator request socket."""
        return self._address("ground", _RUN_WIDE["ground"])

    def ground_pub(self) -> str:
        """Ground control's operator publish socket."""
        return self._address("ground.pub", _RUN_WIDE["ground.pub"])

    def link(self) -> str:
        """The space link emulator's ground-side receiver (PULL): frames to uplink."""
        return self._address("link", _RUN_WIDE["link"])

    def link_down(self) -> str:
        """The space link emulator's ground-side transmitter (PUB): downlinked frames, stats."""
        return self._address("link.down", _RUN_WIDE["link.down"])

    def bus_in(self, satellite: str) -> str:
        """The satellite bus proxy's XSUB side: publishers connect here."""
        return self._satellite(satellite, "bus.in")

    def bus_out(self, satellite: str) -> str:
        """The satellite bus proxy's XPUB side: subscribers connect here."""
        return self._satellite(satellite, "bus.out")

    def uplink(self, satellite: str) -> str:
        """The satellite radio's receiver (PULL): telecommands arrive here."""
        return self._satellite(satellite, "uplink")

    def downlink(self, satellite: str) -> str:
        """The satellite radio's transmitter (PUB): telemetry leaves here."""
        return self._satellite(satellite, "downlink")
