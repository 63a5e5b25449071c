"""The engine_build package's subcommands (registered by visualizer.cli). Heavy imports stay inside the
command functions so `gansmania --help` stays fast."""

COMMANDS: tuple = ()
