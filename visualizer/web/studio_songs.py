"""Uploaded songs: each in its own folder named by a random id, the bytes in a file whose name
the server chose. The client's file name is kept only as a label, and a name that tries to be a
path is refused. A song is kept only when the project's audio loader decodes it (whatever its
name says) and it fits the size and duration limits."""

from __future__ import annotations

import json
import re
import shutil
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from visualizer.core.errors import GansmaniaError

SONG_ID = re.compile(r"[0-9a-f]{32}")
AUDIO, META = "audio", "song.json"


class UploadError(GansmaniaError):
    """An upload refused: ``status`` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Song:
    id: str
    name: str  # the client's file name: a label, never a path
    duration_s: float
    sample_rate: int
    channels: int
    bytes: int
    uploaded_s: float

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def check_name(name: str) -> str:
    """The client's file name as a label; UploadError(400) for one with folders or odd
    characters in it."""
    if not name:
        raise UploadError(400, "the upload has no file name (X-Filename header)")
    if "/" in name or "\\" in name or name in (".", "..") or not name.isprintable() \
            or len(name) > 200:
        shown = "".join(c if c.isprintable() else "?" for c in name)[:60]
        raise UploadError(400, f"file name {shown!r}: a plain file name is wanted (no folders, "
                               "at most 200 printable characters)")
    return name


class SongStore:
    """Songs under ``folder``/songs/<id>/."""

    def __init__(self, folder: Path, *, max_bytes: int, max_duration_s: float) -> None:
        self.folder = Path(folder) / "songs"
        self.max_bytes = max_bytes
        self.max_duration_s = max_duration_s

    def new_upload(self) -> tuple[str, Path]:
        """A fresh id and the file to write the upload's bytes to."""
        song_id = uuid.uuid4().hex
        folder = self.folder / song_id
        folder.mkdir(parents=True)
        return song_id, folder / AUDIO

    def accept(self, song_id: str, name: str) -> Song:
        """Decode the uploaded bytes; keep the song or remove it and raise UploadError."""
        from visualizer.audio.filesource import load_audio

        folder = self.folder / song_id
        path = folder / AUDIO
        try:
            try:
                audio, sr = load_audio(path)
            except GansmaniaError:
                raise UploadError(415, f"{name}: not an audio file this studio can decode "
                                       "(WAV, FLAC, OGG, MP3 or anything ffmpeg reads)") from None
            duration_s = audio.shape[0] / sr
            if duration_s > self.max_duration_s:
                raise UploadError(413, f"{name}: {duration_s / 60:.1f} min long; songs up to "
                                       f"{self.max_duration_s / 60:g} min are accepted")
        except UploadError:
            self.discard(song_id)
            raise
        song = Song(id=song_id, name=name, duration_s=round(duration_s, 3), sample_rate=sr,
                    channels=int(audio.shape[1]), bytes=path.stat().st_size,
                    uploaded_s=time.time())
        (folder / META).write_text(json.dumps(song.to_json()), encoding="utf-8")
        return song

    def discard(self, song_id: str) -> None:
        if SONG_ID.fullmatch(song_id):
            shutil.rmtree(self.folder / song_id, ignore_errors=True)

    def get(self, song_id: str) -> Song | None:
        if not SONG_ID.fullmatch(song_id):
            return None
        meta = self.folder / song_id / META
        if not meta.is_file():  # still uploading, or refused
            return None
        return Song(**json.loads(meta.read_text(encoding="utf-8")))

    def audio_path(self, song_id: str) -> Path | None:
        return self.folder / song_id / AUDIO if self.get(song_id) else None

    def songs(self) -> list[Song]:
        """Every kept song, newest first."""
        if not self.folder.is_dir():
            return []
        found = [self.get(p.name) for p in self.folder.iterdir()]
        return sorted((s for s in found if s), key=lambda s: s.uploaded_s, reverse=True)
