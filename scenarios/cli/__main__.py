"""``python -m scenarios.cli``: the same as the ``dawndusk`` command."""

from scenarios.cli import main

main()
