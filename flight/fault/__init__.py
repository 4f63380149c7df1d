"""Fault protection: limit monitoring, event-actions and the satellite mode."""
