"""The flight framework: the runtime of a flight process and the application base."""
