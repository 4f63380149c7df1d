"""The dawndusk dictionary: every app's APID, commands, telemetry and events, in one place.

``DICTIONARY`` is built and checked at import; an inconsistent definition raises
:class:`common.errors.DictionaryError` at once. Everything else (codecs, the console's
completion, ground alarm limits, the Markdown reference, the XTCE export) derives from it.
"""

from __future__ import annotations

from common.dictionary.apps import APPS, SUPERVISED
from common.dictionary.model import (
    App,
    Arg,
    Command,
    Event,
    Limits,
    Param,
    Report,
    Setting,
    Severity,
    Structure,
)
from common.dictionary.registry import DecodedCommand, DecodedTm, Dictionary, json_value
from common.dictionary.standard import GROUND_ID, FailureCode, RejectReason

#: Bumped whenever a layout changes incompatibly; reported in every app's STARTED event.
DICTIONARY_VERSION = 1

DICTIONARY = Dictionary(APPS, version=DICTIONARY_VERSION)

__all__ = [
    "APPS",
    "DICTIONARY",
    "DICTIONARY_VERSION",
    "GROUND_ID",
    "SUPERVISED",
    "App",
    "Arg",
    "Command",
    "DecodedCommand",
    "DecodedTm",
    "Dictionary",
    "Event",
    "FailureCode",
    "Limits",
    "Param",
    "RejectReason",
    "Report",
    "Setting",
    "Severity",
    "Structure",
    "json_value",
]
