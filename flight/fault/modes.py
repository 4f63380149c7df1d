"""The satellite mode (NOMINAL, DEGRADED, SAFE) and the compute shed level fault protection
commands.

Actions only raise the mode and the shed level. Going back is by command — with one
exception: DEGRADED ends by itself once every cause behind it has cleared, and the only cause
that clears by itself is a battery shed (the battery recharged past SOC_RECOVER_PCT: the
expected, benign end of an eclipse-season load shed, which should not idle the data centre
until the next ground pass). Over-temperature and every SAFE wait for the operators, who must
find out what went wrong; so does a DEGRADED they commanded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

MODES = ("NOMINAL", "DEGRADED", "SAFE")
RANK = {mode: rank for rank, mode in enumerate(MODES)}
#: Shed level that goes with a commanded mode.
SHED_FOR_MODE = {"NOMINAL": 0, "DEGRADED": 2, "SAFE": 3}


@dataclass(frozen=True)
class ModeChange:
    """A change of mode, for the MODE_CHANGED event."""

    old: str
    new: str
    cause: str


@dataclass
class ModeKeeper:
    """Mode, shed level, and the causes that hold the satellite in DEGRADED."""

    mode: str = "NOMINAL"
    shed_level: int = 0
    causes: set[str] = field(default_factory=set)

    def _go(self, mode: str, cause: str) -> ModeChange | None:
        old, self.mode = self.mode, mode
        return ModeChange(old, mode, cause) if old != mode else None

    def escalate(self, mode: str, cause: str) -> ModeChange | None:
        """Enter ``mode`` for ``cause`` if it is more severe than the mode now."""
        self.causes.add(cause)
        if RANK[mode] <= RANK[self.mode]:
            return None
        return self._go(mode, cause)

    def shed(self, level: int) -> bool:
        """Raise the shed level to ``level``; True when it rose (compute must be told)."""
        if level <= self.shed_level:
            return False
        self.shed_level = level
        return True

    def recover(self, cause: str) -> ModeChange | None:
        """``cause`` has cleared: DEGRADED held by nothing else returns to NOMINAL, unshed."""
        self.causes.discard(cause)
        if self.mode != "DEGRADED" or self.causes:
            return None
        self.shed_level = 0
        return self._go("NOMINAL", "RECOVERED")

    def command(self, mode: str) -> ModeChange | None:
        """The operators set the mode (and the shed level that goes with it)."""
        self.shed_level = SHED_FOR_MODE[mode]
        self.causes = set() if mode == "NOMINAL" else {"COMMAND"}
        return self._go(mode, "COMMAND")

    def to_state(self) -> dict[str, Any]:
        """What is kept across restarts."""
        return {"mode": self.mode, "shed_level": self.shed_level, "causes": sorted(self.causes)}

    def load_state(self, state: dict[str, Any]) -> None:
        """Restore :meth:`to_state` (unknown values leave the defaults)."""
        mode = state.get("mode")
        if mode in RANK:
            self.mode = mode
        level = state.get("shed_level")
        if isinstance(level, int) and 0 <= level <= 3:
            self.shed_level = level
        self.causes = {str(c) for c in state.get("causes", [])}
