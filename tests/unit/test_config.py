"""Fleet configuration: defaults, round trips, and errors that name the bad field."""

from __future__ import annotations

import pytest

from common.runconfig import ConfigError, RunConfig
from scenarios.config import FleetConfig, load, parse
from scenarios.testkit.testbed import _as_json


def test_the_shipped_configurations_load() -> None:
    from pathlib import Path

    for path in sorted(Path("scenarios").glob("*.toml")):
        config = load(path)
        assert config.constellation().elements(), path


def test_a_configuration_round_trips_through_the_testbed() -> None:
    config = FleetConfig(per_plane=3, slot_spacing_deg=20.0, stations=("polar",),
                         link={"relays": ["tianlian"], "isl": "in-plane"},
                         hardware={"initial_soc": 0.5}, timing={"sensor_interval_s": 5.0},
                         security=False)
    assert parse(_as_json(config)) == config


def test_telecommand_authentication_is_on_unless_turned_off() -> None:
    assert parse({}).security is True
    assert parse({"run": {"security": False}}).security is False


@pytest.mark.parametrize(("data", "named"), [
    ({"rnu": {}}, "unknown section [rnu]"),
    ({"run": {"rate": "fast"}}, "run.rate"),
    ({"run": {"rate": -1.0}}, "run.rate must be positive"),
    ({"run": {"start": "yesterday"}}, "run.start"),
    ({"run": {"sim_group": 0}}, "run.sim_group must be at least 1"),
    ({"run": {"sim_group": 2.5}}, "run.sim_group"),
    ({"run": {"app_hosting": "shared"}},
     "run.app_hosting must be one of separate, together, executive"),
    ({"run": {"flight_group": 0}}, "run.flight_group must be at least 1"),
    ({"run": {"flight_group": "all"}}, "run.flight_group"),
    ({"run": {"app_hosting": 1}}, "run.app_hosting"),
    ({"constellation": {"per_plane": True}}, "constellation.per_plane"),
    ({"constellation": {"slot_spacing_deg": 120.0, "per_plane": 4}}, "slot_spacing_deg"),
    ({"constellation": {"altitude_km": 36000.0}}, "altitude_km"),
    ({"ground": {"stations": ["atlantis"]}}, "unknown station"),
    ({"link": {"relays": ["TL-9"]}}, "unknown relay"),
    ({"link": {"isl": "mesh"}}, "link.isl"),
    ({"link": {"uplink_lose": 0.1}}, "uplink_lose"),
    ({"hardware": {"battery_wh": 1.0}}, "battery_wh"),
    ({"timing": {"heartbeat": 1.0}}, "heartbeat"),
])
def test_errors_name_the_bad_field(data: dict, named: str) -> None:
    with pytest.raises(ConfigError, match=named.replace("[", r"\[").replace("]", r"\]")):
        parse(data, "fleet.toml")


def test_the_simulator_group_reaches_the_run(tmp_path) -> None:
    config = parse({"run": {"sim_group": 2, "security": False}}, "fleet.toml")
    assert config.run_config(tmp_path / "run").sim_group == 2
    assert parse({}, "fleet.toml").run_config(tmp_path / "default").sim_group == 4


def test_the_flight_group_reaches_the_run_and_survives_a_reload(tmp_path) -> None:
    config = parse({"run": {"flight_group": 5, "app_hosting": "executive", "security": False}},
                   "fleet.toml")
    run = config.run_config(tmp_path / "run")
    assert (run.flight_group, run.app_hosting) == (5, "executive")
    run.save()
    assert RunConfig.load(run.run_dir).flight_group == 5
    assert parse({}, "fleet.toml").run_config(tmp_path / "default").flight_group == 1


def test_app_hosting_reaches_the_run_and_survives_a_reload(tmp_path) -> None:
    config = parse({"run": {"app_hosting": "together", "security": False}}, "fleet.toml")
    run = config.run_config(tmp_path / "run")
    run.save()
    assert RunConfig.load(run.run_dir).app_hosting == "together"
    assert parse({}, "fleet.toml").run_config(tmp_path / "default").app_hosting == "separate"
