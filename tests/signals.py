"""Test signals whose answer is known: click trains, clicks at given times, chords, chirps,
silence; and a WAV writer. Everything is generated, nothing is downloaded."""

from __future__ import annotations

from pathlib import Path

import numpy as np

SR = 48000


def click(*, sr: int = SR, length_s: float = 0.01) -> np.ndarray:
    """One metronome click: a decaying 1.6 + 3.2 kHz burst, peak 1. Shape (n,), float32."""
    t = np.arange(int(length_s * sr)) / sr
    tone = np.sin(2 * np.pi * 1600 * t) + 0.5 * np.sin(2 * np.pi * 3200 * t)
    burst = tone * np.exp(-t / 0.002)
    return (burst / np.abs(burst).max()).astype(np.float32)


def clicks_at(times_s, *, duration_s: float, sr: int = SR, amplitude: float = 0.5,
              noise_db: float | None = -70.0, seed: int = 0) -> np.ndarray:
    """Clicks starting at ``times_s`` (their first sample is the onset) over optional noise.

    Returns shape (duration_s * sr,), float32.
    """
    audio = np.zeros(int(round(duration_s * sr)), dtype=np.float32)
    if noise_db is not None:
        rng = np.random.default_rng(seed)
        audio += rng.normal(0.0, 10 ** (noise_db / 20), audio.shape[0]).astype(np.float32)
    one = click(sr=sr) * amplitude
    for t in times_s:
        start = int(round(t * sr))
        end = min(start + one.shape[0], audio.shape[0])
        if 0 <= start < audio.shape[0]:
            audio[start:end] += one[:end - start]
    return audio


def click_train(*, bpm: float, duration_s: float, sr: int = SR, first_s: float = 0.5,
                accent_every: int = 0, amplitude: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """A metronome at ``bpm`` from ``first_s``: (audio shape (n,), click times in s).

    ``accent_every`` > 0 plays every n-th click louder (a downbeat), quieter otherwise.
    """
    times = np.arange(first_s, duration_s - 0.05, 60.0 / bpm)
    audio = np.zeros(int(round(duration_s * sr)), dtype=np.float32)
    for i, t in enumerate(times):
        gain = 1.0 if not accent_every or i % accent_every == 0 else 0.6
        audio += clicks_at([t], duration_s=duration_s, sr=sr, amplitude=amplitude * gain,
                           noise_db=None)
    noise = np.random.default_rng(1).normal(0.0, 10 ** (-70 / 20), audio.shape[0])
    return (audio + noise.astype(np.float32)), times


def midi_to_hz(note: float) -> float:
    return 440.0 * 2 ** ((note - 69) / 12)


def chord(notes, *, duration_s: float, sr: int = SR, amplitude: float = 0.3,
          harmonics: int = 4) -> np.ndarray:
    """Harmonic tones (1/k amplitude partials) at MIDI ``notes``, summed. Shape (n,), float32."""
    t = np.arange(int(round(duration_s * sr))) / sr
    audio = np.zeros(t.shape[0])
    for note in notes:
        f0 = midi_to_hz(note)
        for k in range(1, harmonics + 1):
            if k * f0 < sr / 2:
                audio += np.sin(2 * np.pi * k * f0 * t) / k
    return (amplitude * audio / np.abs(audio).max()).astype(np.float32)


def chirp(*, f0_hz: float, f1_hz: float, duration_s: float, sr: int = SR,
          amplitude: float = 0.3) -> np.ndarray:
    """A logarithmic sine sweep from f0 to f1. Shape (n,), float32."""
    t = np.arange(int(round(duration_s * sr))) / sr
    k = np.log(f1_hz / f0_hz) / duration_s
    phase = 2 * np.pi * f0_hz * (np.exp(k * t) - 1) / k
    return (amplitude * np.sin(phase)).astype(np.float32)


def silence(*, duration_s: float, sr: int = SR) -> np.ndarray:
    return np.zeros(int(round(duration_s * sr)), dtype=np.float32)


def write_wav(path: Path, audio: np.ndarray, *, sr: int = SR, subtype: str = "PCM_16") -> Path:
    """Write ``audio`` (shape (n,) or (n, channels)) as WAV; returns ``path``."""
    import soundfile

    soundfile.write(str(path), audio, sr, subtype=subtype)
    return Path(path)
