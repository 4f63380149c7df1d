"""Flight software: one process per app per satellite, plus the simulated hardware."""
