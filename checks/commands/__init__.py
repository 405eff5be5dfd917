"""One module per `plasticity` subcommand.

Each defines `HELP`, `add_arguments(parser)` and `run(args) -> int`.
"""
