"""One module per scenario; each has ``add_arguments(parser)`` and ``async run(args)``."""
