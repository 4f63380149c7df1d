"""Shared libraries of dawndusk: packets, dictionary, bus, clock, orbits, logging, config.

Nothing here starts a process, and nothing here imports ``flight``, ``ground`` or ``scenarios``.
"""

from common.compiled import guard

guard()  # before any compiled module: a build older than its source never runs
