"""Progress bars (rate and ETA) and the end-of-crawl summary, for the command line."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import click
from rich.console import Console
from rich.progress import (BarColumn, MofNCompleteColumn, Progress, ProgressColumn, Task,
                           TextColumn, TimeRemainingColumn)
from rich.text import Text

from scraping.manifest import STATUSES


class RateColumn(ProgressColumn):
    """Items per second, as rich measures it over the last seconds."""

    def __init__(self, unit: str) -> None:
        super().__init__()
        self.unit = unit

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:.1f} {self.unit}/s" if speed else f"- {self.unit}/s")


def _progress(unit: str) -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    RateColumn(unit), TextColumn("ETA"), TimeRemainingColumn(),
                    console=Console(stderr=True))


class CrawlProgress:
    """A crawl observer that draws items settled out of items found (the total grows as the
    listings are walked). The bar appears once the crawl starts, so an error before that stays
    one line."""

    def __init__(self, label: str) -> None:
        self.label = label
        self._progress = _progress("items")
        self._task = None

    def __enter__(self) -> CrawlProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._task is not None:
            self._progress.stop()

    def start(self, *, found: int, settled: int) -> None:
        # Added with what is already done, so the rate counts only this run's work.
        self._task = self._progress.add_task(self.label, total=found or None, completed=settled)
        self._progress.start()

    def found(self, total: int) -> None:
        self._progress.update(self._task, total=total)

    def settled(self, status: str) -> None:
        self._progress.advance(self._task, 1)


@contextmanager
def bar(label: str, *, unit: str) -> Iterator[Callable[[int, int], None]]:
    """A progress bar that appears at the first ``update(done, total)``."""
    progress = _progress(unit)
    task = progress.add_task(label, total=None)
    started = []

    def update(done: int, total: int) -> None:
        if not started:
            progress.start()
            started.append(True)
        progress.update(task, completed=done, total=total)

    try:
        yield update
    finally:
        if started:
            progress.stop()


def print_summary(summary, out: Path) -> None:
    """Found, downloaded, kept, and every other outcome by status (see manifest.STATUSES)."""
    statuses = dict(summary.statuses)
    click.echo(f"found {summary.found}, downloaded {summary.downloaded}, kept "
               f"{statuses.pop('kept', 0)}  (this run: {summary.new_downloads} downloads, "
               f"{summary.requests} requests, {summary.elapsed_s:.1f} s)")
    skipped = {s: n for s, n in statuses.items() if n}
    if skipped:
        order = list(STATUSES)
        parts = [f"{s} {skipped[s]}" for s in sorted(skipped, key=order.index)]
        click.echo("not kept: " + ", ".join(parts))
    for error in summary.listing_errors[:3]:
        click.echo(f"listing error (retried on the next run): {error}")
    click.echo(f"manifest: {out / 'manifest.sqlite'}")
