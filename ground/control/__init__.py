"""Ground control: contact plan, commanding, telemetry ingest, alarms, operator API."""
