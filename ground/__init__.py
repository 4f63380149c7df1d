"""Ground software: space link emulator, ground control, archive, client, console."""
