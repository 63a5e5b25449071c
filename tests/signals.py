"""Test signals whose answer is known: click trains, clicks at given times, chords, chirps,
silence, a loud club loop and a quiet pad; and a WAV writer. Everything is generated, nothing is
downloaded."""

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


def club_loop(*, bpm: float, duration_s: float, sr: int = SR, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Mastered-loud dance music: a kick on every beat, a snare on 2 and 4, off-beat hats and an
    eighth-note bass line (A minor roots), soft-clipped like a limiter and normalised to 0 dBFS
    peaks. Returns (audio shape (n,) float32, kick times in s)."""
    rng = np.random.default_rng(seed)
    n = int(round(duration_s * sr))
    mix = np.zeros(n)
    beat_s = 60.0 / bpm

    def add(sound: np.ndarray, start_s: float) -> None:
        start = int(round(start_s * sr))
        end = min(start + sound.shape[0], n)
        if start < n:
            mix[start:end] += sound[:end - start]

    def decay(length_s: float, tau_s: float) -> np.ndarray:
        return np.exp(-np.arange(int(length_s * sr)) / sr / tau_s)

    # Kick: a sine swept down from 160 to 50 Hz; snare: noise over a 190 Hz body; hat: hiss.
    sweep = 50.0 + 110.0 * decay(0.25, 0.03)
    kick = np.sin(2 * np.pi * np.cumsum(sweep) / sr) * decay(0.25, 0.18)
    body = decay(0.2, 0.06)
    snare = (0.7 * rng.normal(0.0, 1.0, body.shape[0])
             + np.sin(2 * np.pi * 190.0 * np.arange(body.shape[0]) / sr)) * body
    hat = 0.5 * np.diff(rng.normal(0.0, 1.0, int(0.05 * sr) + 1)) * decay(0.05, 0.012)
    kicks = np.arange(0.0, duration_s, beat_s)
    for index, t in enumerate(kicks):
        add(kick, t)
        add(hat, t + beat_s / 2)
        if index % 2 == 1:
            add(snare, t)
    roots = (45, 45, 48, 43)  # A A C G, a bar each
    note = decay(beat_s / 2, 0.2)
    t_note = np.arange(note.shape[0]) / sr
    for eighth, t in enumerate(np.arange(0.0, duration_s, beat_s / 2)):
        f0 = midi_to_hz(roots[int(eighth // 8) % len(roots)])
        add(0.8 * np.tanh(3.0 * np.sin(2 * np.pi * f0 * t_note)) * note, t)
    limited = np.tanh(2.5 * mix)
    return (limited / np.abs(limited).max()).astype(np.float32), kicks


def pad(notes, *, duration_s: float, peak_db: float, sr: int = SR) -> np.ndarray:
    """A held chord at MIDI ``notes`` swelling +-20% every 4 s, peaking at ``peak_db`` dBFS.
    Shape (n,), float32."""
    tones = chord(notes, duration_s=duration_s, sr=sr, amplitude=1.0).astype(np.float64)
    t = np.arange(tones.shape[0]) / sr
    swell = tones * (0.8 + 0.2 * np.sin(2 * np.pi * t / 4.0))
    return (swell / np.abs(swell).max() * 10 ** (peak_db / 20)).astype(np.float32)


def silence(*, duration_s: float, sr: int = SR) -> np.ndarray:
    return np.zeros(int(round(duration_s * sr)), dtype=np.float32)


def write_wav(path: Path, audio: np.ndarray, *, sr: int = SR, subtype: str = "PCM_16") -> Path:
    """Write ``audio`` (shape (n,) or (n, channels)) as WAV; returns ``path``."""
    import soundfile

    soundfile.write(str(path), audio, sr, subtype=subtype)
    return Path(path)
