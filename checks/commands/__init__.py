"""One module per `plasticity` subcommand; each defines `HELP`, `add_arguments(parser)` and `run(args) -> int`."""
