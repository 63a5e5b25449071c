"""Fixtures of the pickle-import tests (StyleGAN2 and StyleGAN3): NVlabs' module names stood in
for by test classes, and a marker file that any code run from a pickle would leave behind."""

from __future__ import annotations

import pytest

from tests.training.generators import NVlabsNames


@pytest.fixture
def nvlabs(monkeypatch):
    return NVlabsNames(monkeypatch)


@pytest.fixture
def marker(tmp_path):
    path = tmp_path / "EXECUTED"
    yield path
    assert not path.exists(), "something from the pickle was executed"
