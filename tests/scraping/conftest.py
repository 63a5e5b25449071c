"""Fixtures of the scraping tests: a loopback site per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bench.rigs.localsite import LocalSite


@pytest.fixture
def site() -> Iterator[LocalSite]:
    with LocalSite() as local:
        yield local
