"""The hardware-in-the-loop suite: fleets from the dawndusk pytest plugin, and nothing but its
verbs (``ops``) — ground control's client for commands and telemetry, the test set for faults.

The fleet used unless a module says otherwise: two satellites of a 20° train, the polar
stations and the three geostationary relays, so that ground control reaches them nearly all the
time and a command waits seconds, not hours.
"""

from __future__ import annotations

from typing import Any

import pytest

HIL_CONFIG: dict[str, Any] = {
    "run": {"start": "2026-03-20T00:40:00Z", "rate": 20.0, "seed": 5},
    "constellation": {"per_plane": 2, "slot_spacing_deg": 20.0},
    "ground": {"stations": ["polar"]},
    "link": {"relays": ["tianlian"]},
    "timing": {"sensor_interval_s": 5.0, "heartbeat_timeout_wall_s": 2.0},
}


@pytest.fixture(scope="session")
def dawndusk_config() -> dict[str, Any]:
    """The suite's fleet (a module may override this fixture with its own)."""
    return HIL_CONFIG


def with_changes(**sections: dict[str, Any]) -> dict[str, Any]:
    """The suite's fleet with some sections' fields changed."""
    return {name: {**HIL_CONFIG.get(name, {}), **sections.get(name, {})}
            for name in {*HIL_CONFIG, *sections}}
