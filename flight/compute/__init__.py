"""The compute manager: the data centre on board."""
