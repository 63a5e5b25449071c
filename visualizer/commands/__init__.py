"""The visualizer's subcommands. Modules here only parse and wire: heavy imports (torch,
moderngl, librosa) happen inside the command functions so `gansmania --help` stays fast."""

from visualizer.commands.analyze import analyze
from visualizer.commands.config import config
from visualizer.commands.devices import devices

COMMANDS = (devices, config, analyze)
