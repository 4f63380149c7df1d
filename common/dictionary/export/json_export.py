"""The dictionary as JSON: every app, command, structure, parameter, event and report."""

from __future__ import annotations

import json
from typing import Any

from common.dictionary.model import Arg, Limits, Param
from common.dictionary.registry import Dictionary
from common.dictionary.standard import STANDARD_REPORTS, FailureCode, RejectReason


def _arg(arg: Arg) -> dict[str, Any]:
    out: dict[str, Any] = {"name": arg.name, "type": arg.type.to_json(), "unit": arg.unit,
                           "description": arg.description}
    if arg.default is not None:
        out["default"] = arg.default
    return out


def _limits(limits: Limits | None) -> dict[str, Any] | None:
    if limits is None:
        return None
    return {key: value for key, value in vars(limits).items() if value is not None}


def _param(param: Param) -> dict[str, Any]:
    return {"name": param.name, "type": param.type.to_json(), "unit": param.unit,
            "description": param.description, "limits": _limits(param.limits)}


def to_dict(dictionary: Dictionary) -> dict[str, Any]:
    """The dictionary as plain data."""
    apps = []
    for app in dictionary.apps.values():
        apps.append({
            "name": app.name,
            "apid": app.apid,
            "title": app.title,
            "description": app.description,
            "supervised": app.supervised,
            "commands": [
                {"name": c.name, "service": c.service, "subtype": c.subtype,
                 "function_id": c.function_id, "description": c.description,
                 "args": [_arg(a) for a in c.args]}
                for c in app.commands
            ],
            "structures": [
                {"name": s.name, "sid": s.sid, "interval_s": s.interval_s, "enabled": s.enabled,
                 "description": s.description, "params": [_param(p) for p in s.params]}
                for s in app.structures
            ],
            "events": [
                {"name": e.name, "id": e.event_id, "severity": e.severity.name,
                 "message": e.message, "args": [_arg(a) for a in e.args]}
                for e in app.events
            ],
            "reports": [
                {"name": r.name, "service": r.service, "subtype": r.subtype,
                 "description": r.description, "fields": [_arg(a) for a in r.fields]}
                for r in app.reports
            ],
            "onboard_parameters": [
                {"name": s.name, "id": s.setting_id, "default": s.default, "min": s.lo,
                 "max": s.hi, "unit": s.unit, "description": s.description}
                for s in app.settings
            ],
        })
    return {
        "version": dictionary.version,
        "apps": apps,
        "standard_reports": [
            {"name": r.name, "service": r.service, "subtype": r.subtype,
             "fields": [_arg(a) for a in r.fields]}
            for r in STANDARD_REPORTS
        ],
        "failure_codes": {code.name: int(code) for code in FailureCode},
        "reject_reasons": {reason.name: int(reason) for reason in RejectReason},
    }


def to_json(dictionary: Dictionary) -> str:
    """The dictionary as indented JSON text."""
    return json.dumps(to_dict(dictionary), indent=2) + "\n"
