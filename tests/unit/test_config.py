"""Fleet configuration: defaults, round trips, and errors that name the bad field."""

from __future__ import annotations

import datetime as dt
import re

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
    ({"run": {"rate": -1.0}}, "run.rate must be a finite number > 0, not -1.0"),
    ({"run": {"start": "yesterday"}}, "run.start"),
    ({"run": {"sim_group": 0}}, "run.sim_group must be an integer >= 1"),
    ({"run": {"sim_group": 2.5}}, "run.sim_group"),
    ({"run": {"app_hosting": "shared"}},
     "run.app_hosting must be one of separate, together, executive"),
    ({"run": {"flight_group": 0}}, "run.flight_group must be an integer >= 1"),
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


NAN, INF = float("nan"), float("inf")


@pytest.mark.parametrize(("data", "named"), [
    ({"link": {"uplink_loss": "x"}}, "link.uplink_loss must be a finite number from 0 to 1"),
    ({"link": {"downlink_bps": NAN}}, "link.downlink_bps must be a finite number > 0"),
    ({"link": {"seed": "x"}}, "link.seed must be an integer"),
    ({"link": {"relay_min_elevation_deg": "low"}}, "link.relay_min_elevation_deg"),
    ({"link": {"store_bytes": 0}}, "link.store_bytes must be a finite number > 0"),
    ({"link": {"relays": [5]}}, "link.relays"),
    ({"timing": {"sensor_interval_s": "fast"}}, "timing.sensor_interval_s must be a finite number"),
    ({"timing": {"heartbeat_s": 0}}, "timing.heartbeat_s must be a finite number > 0"),
    ({"timing": {"satellite_nice": 1.5}}, "timing.satellite_nice must be an integer"),
    ({"hardware": {"initial_soc": 5.0}}, "hardware.initial_soc must be within 0..1"),
    ({"hardware": {"nodes": "four"}}, "hardware.nodes must be an integer"),
    ({"hardware": {"emissivity": 1.5}}, "hardware.emissivity must be a finite number from 0 to 1"),
    ({"hardware": {"battery_capacity_wh": INF}}, "hardware.battery_capacity_wh"),
    ({"run": {"rate": NAN}}, "run.rate must be a finite number > 0, not nan"),
    ({"run": {"duration_h": INF}}, "run.duration_h must be a finite number > 0, not inf"),
    ({"constellation": {"altitude_km": NAN}}, "constellation.altitude_km"),
    ({"constellation": {"ltan_h": 30}},
     "constellation.ltan_h must be a finite number >= 0 and < 24, not 30"),
    ({"constellation": {"ltan_h": 24.0}}, "constellation.ltan_h"),
    ({"constellation": {"phasing": 99}}, "constellation.phasing (Walker F) must be from 0 to 1"),
    ({"constellation": {"planes": 3, "phasing": 3}}, "constellation.phasing"),
    ({"constellation": {"phasing": -1}}, "constellation.phasing must be an integer >= 0"),
    ({"constellation": {"plane_spacing_deg": -400}}, "constellation.plane_spacing_deg"),
    ({"constellation": {"planes": 4, "plane_spacing_deg": 120.0}},
     "constellation.plane_spacing_deg 120.0 does not fit 4 planes"),
    ({"constellation": {"slot_spacing_deg": -10.0}}, "constellation.slot_spacing_deg"),
    ({"run": {"seed": -5}}, "run.seed must be an integer >= 0, not -5"),
    ({"ground": {"stations": []}}, "ground.stations must be a non-empty list of names"),
    ({"ground": {"stations": [5]}}, "ground.stations"),
    ({"ground": {"stations": ["atlantis"]}}, "ground.stations: unknown station"),
    ({"constellation": {"per_plane": 500}},
     "constellation.per_plane must be an integer from 1 to 200, not 500"),
    ({"constellation": {"planes": 3, "per_plane": 100}}, "constellation.planes × per_plane is 300"),
    ({"run": {"start": "1900-01-01"}}, "run.start must be on or after 1957-01-01"),
    ({"run": {"start": "2053-10-01", "duration_h": 48.0}}, "run.start + duration_h must end by"),
    ({"run": {"start": 20260320}}, "run.start must be an ISO 8601 date or time"),
])
def test_bad_values_are_refused_naming_the_field(data: dict, named: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(f"fleet.toml: {named}")):
        parse(data, "fleet.toml")


def test_every_problem_is_named_at_once() -> None:
    with pytest.raises(ConfigError) as caught:
        parse({"run": {"rate": NAN, "seed": -5, "duration_h": 1e20},
               "constellation": {"phasing": 7},
               "timing": {"sensor_interval_s": "fast"}, "hardware": {"emissivity": -1.0},
               "link": {"uplink_loss": "x", "isl": "mesh", "relays": 5},
               "ground": {"stations": ["atlantis"]}})
    for named in ("run.rate", "run.seed", "timing.sensor_interval_s", "hardware.emissivity",
                  "link.uplink_loss", "link.isl", "link.relays", "run.start + duration_h",
                  "constellation.phasing", "atlantis"):
        assert named in str(caught.value), named


def test_toml_nan_inf_and_strings_are_refused_before_launch(tmp_path) -> None:
    path = tmp_path / "fleet.toml"
    path.write_text("[run]\nrate = nan\nduration_h = inf\n[link]\nuplink_loss = \"x\"\n")
    with pytest.raises(ConfigError) as caught:
        load(path)
    for message in ("run.rate must be a finite number > 0, not nan",
                    "run.duration_h must be a finite number > 0, not inf",
                    "link.uplink_loss must be a finite number from 0 to 1, not 'x'"):
        assert message in str(caught.value)


def test_values_beyond_any_float_are_refused_not_a_crash() -> None:
    with pytest.raises(ConfigError, match=r"run\.seed must be an integer"):
        parse({"run": {"seed": 10**400}})


def test_byte_counts_may_be_written_as_floats() -> None:
    config = parse({"link": {"store_bytes": 1e9, "downlink_backlog_bytes": 2e8, "seed": -3}})
    assert config.link["store_bytes"] == 1e9


def test_command_line_changes_take_what_the_file_takes() -> None:
    config = load("scenarios/first_light.toml")
    changed = config.with_changes(start="2026-06-21", stations=("polar",))
    assert changed.start.isoformat() == "2026-06-21T00:00:00+00:00"
    assert changed.stations == ("polar",)
    with pytest.raises(ConfigError, match="hours: not a field"):
        config.with_changes(hours=2.0)


@pytest.mark.parametrize("changes, named", [
    ({"rate": float("nan")}, "run.rate"),
    ({"duration_h": -1.0}, "run.duration_h"),
    ({"per_plane": 500}, "constellation.per_plane"),
    ({"app_hosting": "cloud"}, "run.app_hosting"),
])
def test_command_line_changes_are_checked_as_the_file_is(changes: dict, named: str) -> None:
    config = load("scenarios/first_light.toml")
    with pytest.raises(ConfigError, match=re.escape(named)):
        config.with_changes(**changes)
    changed = config.with_changes(rate=100.0, per_plane=2, hours=None)
    assert (changed.rate, changed.per_plane, changed.duration_h) == (100.0, 2, config.duration_h)


def test_a_start_date_alone_is_midnight_utc(tmp_path) -> None:
    path = tmp_path / "fleet.toml"
    path.write_text('[run]\nstart = "2026-06-21"\n')
    assert load(path).start == dt.datetime(2026, 6, 21, tzinfo=dt.UTC)
    path.write_text("[run]\nstart = 2026-06-21\n")  # a TOML date, unquoted
    assert load(path).start == dt.datetime(2026, 6, 21, tzinfo=dt.UTC)
    path.write_text("[run]\nstart = 2026-06-21T08:00:00+08:00\n")
    assert load(path).start == dt.datetime(2026, 6, 21, tzinfo=dt.UTC)


def test_the_largest_sane_values_are_accepted() -> None:
    config = parse({"constellation": {"planes": 4, "per_plane": 50, "phasing": 3,
                                      "ltan_h": 0.0, "plane_spacing_deg": -60.0},
                    "run": {"seed": 0, "start": "2053-09-30T00:00:00Z"},
                    "link": {"uplink_loss": 1, "relay_min_elevation_deg": -10},
                    "timing": {"sensor_interval_s": 5, "satellite_nice": 0},
                    "hardware": {"initial_soc": 1.0, "nodes": 8}})
    assert config.constellation().size == 200


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
