"""The visualizer's subcommands. Modules here only parse and wire: heavy imports (torch,
moderngl, librosa) happen inside the command functions so `gansmania --help` stays fast."""

from visualizer.commands.analyze import analyze
from visualizer.commands.bench import bench
from visualizer.commands.config import config
from visualizer.commands.devices import devices
from visualizer.commands.live import live
from visualizer.commands.osc import osc
from visualizer.commands.presets import presets
from visualizer.commands.render import render
from visualizer.commands.web import web, worker

COMMANDS = (devices, config, analyze, live, render, presets, bench, osc, web, worker)
