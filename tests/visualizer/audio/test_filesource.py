"""Audio files: every channel layout and bit depth decodes, bad files are one-line errors, and
FileSource delivers in real time."""

import time

import numpy as np
import pytest
import soundfile

from tests.signals import SR, chord, write_wav
from visualizer.audio.filesource import FileSource, load_audio
from visualizer.audio.sources import looks_like_file, open_source
from visualizer.core.errors import GansmaniaError

SUBTYPES = {"PCM_U8": 2 / 255, "PCM_16": 1e-4, "PCM_24": 1e-6, "PCM_32": 1e-6, "FLOAT": 1e-7}


@pytest.mark.parametrize("channels", [1, 2, 6])
@pytest.mark.parametrize("subtype", sorted(SUBTYPES))
def test_every_layout_and_width_decodes(tmp_path, channels, subtype):
    tone = chord((57,), duration_s=0.2)
    audio = np.stack([tone * (0.5 + 0.1 * c) for c in range(channels)], axis=1)
    path = write_wav(tmp_path / f"{subtype}_{channels}.wav", audio, subtype=subtype)
    decoded, sr = load_audio(path)
    assert sr == SR and decoded.dtype == np.float32
    assert decoded.shape == (tone.shape[0], channels)
    np.testing.assert_allclose(decoded, audio, atol=SUBTYPES[subtype])


@pytest.mark.parametrize("fmt", ["FLAC", "OGG"])
def test_compressed_formats_decode(tmp_path, fmt):
    path = tmp_path / f"tone.{fmt.lower()}"
    soundfile.write(str(path), chord((57,), duration_s=0.5), SR, format=fmt)
    decoded, sr = load_audio(path)
    assert sr == SR and abs(decoded.shape[0] - SR // 2) < 2048


def one_line_error(path) -> str:
    with pytest.raises(GansmaniaError) as info:
        load_audio(path)
    message = str(info.value)
    assert "\n" not in message and str(path) in message
    return message


def test_bad_files_are_one_line_errors(tmp_path):
    assert "not found" in one_line_error(tmp_path / "missing.wav")
    assert "folder" in one_line_error(tmp_path)
    (tmp_path / "empty.wav").write_bytes(b"")
    assert "empty" in one_line_error(tmp_path / "empty.wav")
    (tmp_path / "text.wav").write_text("this is not audio\n" * 20)
    assert "not a readable audio file" in one_line_error(tmp_path / "text.wav")
    header_only = write_wav(tmp_path / "zero.wav", np.zeros(0, dtype=np.float32))
    assert "no audio" in one_line_error(header_only)


def test_file_source_plays_in_real_time_then_finishes(tmp_path):
    path = write_wav(tmp_path / "tone.wav", chord((57,), duration_s=0.6))
    source = open_source(str(path), block=256)
    assert isinstance(source, FileSource)
    source.start()
    try:
        started = time.monotonic()
        time.sleep(0.2)
        delivered, elapsed = source.ring.written, time.monotonic() - started
        assert 0 < delivered <= (elapsed + 0.05) * SR + 256  # not all at once
        deadline = time.monotonic() + 5
        while source.status.state == "running" and time.monotonic() < deadline:
            time.sleep(0.05)
        assert source.status.state == "finished"
        assert source.ring.written == int(0.6 * SR)
        # capture times follow the file's clock
        assert source.time_of(SR // 2) - source.time_of(0) == pytest.approx(0.5)
    finally:
        source.stop()


def test_monitor_without_an_output_device_falls_back_to_silent_playback(monkeypatch):
    monkeypatch.setenv("PULSE_SERVER", "unix:/nonexistent/gansmania-test")
    source = FileSource(audio=chord((57,), duration_s=0.3), sample_rate=SR, monitor=True)
    source.start()
    try:
        time.sleep(0.1)
        assert source.status.state in ("running", "finished")
        assert source.ring.written > 0
    finally:
        source.stop()


def test_input_values_that_name_files():
    assert looks_like_file("song.ogg") and looks_like_file("./x") and looks_like_file("a/b.wav")
    assert not looks_like_file("") and not looks_like_file("3")
    assert not looks_like_file("pulse:foo.monitor") and not looks_like_file("USB Audio")
