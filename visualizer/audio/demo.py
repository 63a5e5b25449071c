"""The bundled demo track (`make demo` plays it): see data/README.md for how it was made."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from visualizer.core.errors import GansmaniaError

DEMO_TRACK = "demo_track.ogg"


def demo_track_path() -> Path:
    """Path of the bundled demo track (OGG Vorbis, ~36 s at 124 BPM)."""
    path = Path(str(resources.files("visualizer.audio") / "data" / DEMO_TRACK))
    if not path.is_file():
        raise GansmaniaError(f"bundled demo track missing at {path}; reinstall gansmania or "
                             "run `python -m bench.make_demo_track` in a clone")
    return path
