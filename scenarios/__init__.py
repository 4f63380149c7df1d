"""The top layer: the scenario runner, the scenario scripts and the ``dawndusk`` command line."""
