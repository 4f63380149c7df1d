"""Tests that play shipped scenarios end to end."""

#: The rate they are played at: fast, with room for a machine that runs another test beside
#: this one (at 1500× a fleet on two busy cores falls far enough behind to lose what it is
#: there to show; the run's summary says when it did). At 1000×, a clean checkout's CI once
#: left first_light's recorder playback short: SAT-02's passes after its fault are few and
#: short, a playback of a day's recorder takes a busy machine a second or more of wall time
#: to send and ground control several to archive, and each pass carried only part of it.
RATE = "800"
