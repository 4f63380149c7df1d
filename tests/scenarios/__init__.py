"""Tests that play shipped scenarios end to end."""

#: The rate they are played at: fast, with room for a machine that runs another test beside
#: this one (at 1500× a fleet on two busy cores falls far enough behind to lose what it is
#: there to show; the run's summary says when it did).
RATE = "1000"
