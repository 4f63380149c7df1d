"""Flight software: one process per app per satellite, plus the simulated hardware."""

import common  # noqa: F401 - its guard decides, before any flight module, what is compiled
