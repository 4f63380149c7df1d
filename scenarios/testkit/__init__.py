"""The hardware-in-the-loop test kit: fleets, the ops verbs, predicates and faults.

In pytest, through the plugin's fixtures (``fleet``, ``module_fleet``, ``session_fleet``,
``ops``); elsewhere, through :class:`Testbed` as an async context manager.
"""

from scenarios.testkit import predicates
from scenarios.testkit.ops import CheckFailed, Event, Ops, Sample
from scenarios.testkit.testbed import Fleet, Testbed

__all__ = ["CheckFailed", "Event", "Fleet", "Ops", "Sample", "Testbed", "predicates"]
