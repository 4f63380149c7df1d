"""The space network: ground stations, relay satellites and inter-satellite links as one graph.

:mod:`ground.network.relays` names the relay satellites, :mod:`ground.network.visibility` holds
the geometry (line of sight clear of the Earth, range), :mod:`ground.network.plan` turns orbits
into a time-ordered plan of contacts, :mod:`ground.network.routing` finds the earliest-arrival
path through it, and :mod:`ground.network.coverage` tells how much of a day each satellite is
reachable, and how. The space link emulator carries packets along it; ground control uses the
same plan to know when and how it can reach each satellite.
"""
