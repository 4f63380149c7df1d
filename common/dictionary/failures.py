"""What the data of a PUS 1 failure report means, per failure code: one place for the ground
(and anyone decoding reports) to turn ``(code, data)`` into words.

>>> describe_failure("INVALID_JOB", 5)
'INVALID_JOB: OUT_OF_RANGE'
>>> describe_failure("INVALID_ARGUMENT", 2)
'INVALID_ARGUMENT: argument 2'
>>> describe_failure("EXECUTION_FAILED", 0)
'EXECUTION_FAILED'
"""

from __future__ import annotations

from common.dictionary.apps.compute import JobReason


def describe_failure(code: str | None, data: int | None) -> str:
    """The failure code with what its data says."""
    text = code or "UNKNOWN"
    if not data:
        return text
    if code == "INVALID_JOB":
        try:
            return f"{text}: {JobReason(data).name}"
        except ValueError:
            pass
    if code == "INVALID_ARGUMENT":
        return f"{text}: argument {data}"
    return f"{text} (data {data})"
