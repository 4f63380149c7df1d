"""Physics of one satellite: pure models, time only as arguments, no I/O."""
