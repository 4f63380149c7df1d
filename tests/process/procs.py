"""Process bookkeeping for tests (one implementation, in :mod:`scenarios.processes`)."""

from scenarios.processes import alive, descendants, kill_all, stop_tree, wait_gone

__all__ = ["alive", "descendants", "kill_all", "stop_tree", "wait_gone"]
