"""The one benchmark report: every benchmark prints one table and writes JSON of the same shape
(`gansmania bench` and every `python -m bench.NAME`)."""

from __future__ import annotations

import datetime
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from visualizer.core.measure import machine_info


def report(name: str, columns: Sequence[str], rows: Sequence[Mapping[str, Any]], *,
           json_path: Path | None = None, extra: Mapping[str, Any] | None = None,
           console: Console | None = None) -> dict[str, Any]:
    """Print ``rows`` as a table with ``columns`` and write ``{name, machine, rows, ...}`` as JSON."""
    table = Table(title=name)
    for column in columns:
        table.add_column(column, justify="left" if column == columns[0] else "right")
    for row in rows:
        # escape: a cell like "pip install 'gansmania[trt]'" is text, not rich markup.
        table.add_row(*(escape(_fmt(row.get(c))) for c in columns))
    (console or Console()).print(table)
    result = {
        "benchmark": name,
        "time": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": machine_info(),
        "rows": [dict(r) for r in rows],
        **(extra or {}),
    }
    if json_path is not None:
        json_path = Path(json_path)
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(result, indent=2, default=str) + "\n")
    return result


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 100 else f"{value:.0f}"
    return str(value)
