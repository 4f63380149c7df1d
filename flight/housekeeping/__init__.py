"""Housekeeping: periodic reports from sensors and app status, and the onboard recorder."""
