"""The space link emulator: packets cross only when geometry allows, late, slow and lossy."""
