"""Exports of the dictionary: Markdown reference, JSON, and XTCE 1.2 for other ground systems."""
