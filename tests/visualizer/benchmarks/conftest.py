"""Fixtures of the benchmark tests: the generator part timed with as few frames as it takes."""

from __future__ import annotations

import pytest

from visualizer.benchmarks import generator


@pytest.fixture
def few_frames(monkeypatch):
    monkeypatch.setattr(generator, "QUICK_ITERATIONS", {"cpu": 2})
    monkeypatch.setattr(generator, "CPU_BATCHES", {"cpu": (1, 2)})
