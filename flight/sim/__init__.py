"""The simulated hardware: orbit, power, thermal and compute nodes, behind sensor packets."""
