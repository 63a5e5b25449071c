"""Test signals whose answer is known: click trains, clicks at given times, chords, chirps,
silence, a loud club loop, drum grooves and a quiet pad; and a WAV writer. Everything is
generated, nothing is downloaded."""

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


def _decay(length_s: float, tau_s: float, sr: int) -> np.ndarray:
    return np.exp(-np.arange(int(length_s * sr)) / sr / tau_s)


def _add(mix: np.ndarray, sound: np.ndarray, start_s: float, sr: int) -> None:
    """Mixes ``sound`` into ``mix`` from ``start_s`` on (cut at its end)."""
    start = int(round(start_s * sr))
    end = min(start + sound.shape[0], mix.shape[0])
    if 0 <= start < mix.shape[0]:
        mix[start:end] += sound[:end - start]


def drum_kit(rng: np.random.Generator, *, sr: int = SR,
             kick_hz: tuple[float, float] = (160.0, 50.0)) -> dict[str, np.ndarray]:
    """A synthetic kit, each sound starting at its attack: ``kick`` a sine swept down from
    ``kick_hz[0]`` to ``kick_hz[1]`` (160 to 50 Hz), ``snare`` noise over a 190 Hz body,
    ``hat`` a burst of hiss. Shapes (n,)."""
    high, low = kick_hz
    sweep = low + (high - low) * _decay(0.25, 0.03, sr)
    kick = np.sin(2 * np.pi * np.cumsum(sweep) / sr) * _decay(0.25, 0.18, sr)
    body = _decay(0.2, 0.06, sr)
    snare = (0.7 * rng.normal(0.0, 1.0, body.shape[0])
             + np.sin(2 * np.pi * 190.0 * np.arange(body.shape[0]) / sr)) * body
    hat = 0.5 * np.diff(rng.normal(0.0, 1.0, int(0.05 * sr) + 1)) * _decay(0.05, 0.012, sr)
    return {"kick": kick, "snare": snare, "hat": hat}


def _limit(mix: np.ndarray, drive: float) -> np.ndarray:
    """Soft-clipped like a limiter and normalised to 0 dBFS peaks; float32."""
    limited = np.tanh(drive * mix)
    return (limited / np.abs(limited).max()).astype(np.float32)


def club_loop(*, bpm: float, duration_s: float, sr: int = SR, seed: int = 0,
              kick_hz: tuple[float, float] = (160.0, 50.0), snare: bool = True,
              hats: str = "offbeat", bass: str = "eighths", roots=(45, 45, 48, 43),
              drive: float = 2.5) -> tuple[np.ndarray, np.ndarray]:
    """Mastered-loud dance music: a kick on every beat, a snare on 2 and 4, off-beat hats and an
    eighth-note bass line (A minor roots, a bar each), soft-clipped like a limiter and
    normalised to 0 dBFS peaks. Returns (audio shape (n,) float32, kick times in s).

    Variations: ``kick_hz`` the kick's sweep (see `drum_kit`), ``snare`` False drops it,
    ``hats`` "sixteenths" adds quieter hats on the other sixteenths, ``bass`` "offbeat"
    plays only the off-beat eighths (a house/trance bass), "none" none; ``roots`` MIDI notes,
    a bar each; ``drive`` the limiter's.
    """
    if hats not in ("offbeat", "sixteenths") or bass not in ("eighths", "offbeat", "none"):
        raise ValueError(f"club_loop: hats={hats!r} (offbeat, sixteenths), "
                         f"bass={bass!r} (eighths, offbeat, none)")
    kit = drum_kit(np.random.default_rng(seed), sr=sr, kick_hz=kick_hz)
    mix = np.zeros(int(round(duration_s * sr)))
    beat_s = 60.0 / bpm
    kicks = np.arange(0.0, duration_s, beat_s)
    for index, t in enumerate(kicks):
        _add(mix, kit["kick"], t, sr)
        _add(mix, kit["hat"], t + beat_s / 2, sr)
        if hats == "sixteenths":
            for sixteenth in (0, 1, 3):
                _add(mix, 0.5 * kit["hat"], t + sixteenth * beat_s / 4, sr)
        if snare and index % 2 == 1:
            _add(mix, kit["snare"], t, sr)
    note = _decay(beat_s / 2, 0.2, sr)
    t_note = np.arange(note.shape[0]) / sr
    for eighth, t in enumerate(np.arange(0.0, duration_s, beat_s / 2)):
        if bass == "none" or (bass == "offbeat" and eighth % 2 == 0):
            continue
        f0 = midi_to_hz(roots[int(eighth // 8) % len(roots)])
        _add(mix, 0.8 * np.tanh(3.0 * np.sin(2 * np.pi * f0 * t_note)) * note, t, sr)
    return _limit(mix, drive), kicks


# Drum grooves: a bar of sixteenths per instrument. "X" a hit, "x" a soft one (0.6), "g" a
# ghost note (0.25, played with probability ghost_p), "?" a hit half the time, "." a rest.
DRUM_HIT_GAINS = {"X": 1.0, "x": 0.6, "g": 0.25, "?": 1.0}
GROOVES = {
    # jungle break: kick on 1 (and sometimes 3 and its "and"), snare on 2 and 4, a ghost
    # snare on every beat's last sixteenth, sixteenth hats accented on the eighths
    "breakbeat": {"kick": "X.......?.?.....", "snare": "...gX..g...gX..g",
                  "hat": "XxXxXxXxXxXxXxXx"},
    # funk: syncopated kick, ghost snares around the backbeat, sixteenth hats (swing them)
    "funk": {"kick": "X.....X...X..?..", "snare": ".g..X..g.gg.X..g",
             "hat": "XxXxXxXxXxXxXxXx"},
    # boom-bap: ghost kicks leading into the beats, snare on 2 and 4, eighth hats
    "hiphop": {"kick": "X..g..gX..X...g.", "snare": "....X.......X...",
               "hat": "X.x.X.x.X.x.X.x."},
    # UK garage two-step: kick on 1 and 3's "and", snare on 2 and 4, ghost snares,
    # off-beat-accented hats
    "garage": {"kick": "X.........X.....", "snare": "....X..g.g..X.g.",
               "hat": "x.X.x.X.x.X.x.X."},
    # rock with ghost snares on the "e" and "a" around the backbeat, eighth hats
    "rock_ghosts": {"kick": "X......?X.X.....", "snare": "...gX.g....gX.g.",
                    "hat": "X.x.X.x.X.x.X.x."},
    # house: a kick on every beat, a clap (the snare) on 2 and 4 with a ghost before 1,
    # off-beat-accented hats
    "house": {"kick": "X...X...X...X...", "snare": "....X.......X..g",
              "hat": "x.X.x.X.x.X.x.X."},
}


def drum_groove(pattern: dict[str, str], *, beats_s: np.ndarray, duration_s: float,
                swing: float = 0.5, ghost_p: float = 1.0, jitter_ms: float = 4.0,
                sr: int = SR, seed: int = 0) -> np.ndarray:
    """A drum groove (``drum_kit``) playing ``pattern`` (see GROOVES) on the beats at
    ``beats_s`` (s; bar lines every fourth beat), soft-clipped and normalised like club_loop.

    ``swing`` places each beat's second and fourth sixteenth at that fraction of their eighth
    (0.5 straight); hits are humanised by ``jitter_ms`` (normal, standard deviation).
    Returns shape (duration_s * sr,), float32.
    """
    rng = np.random.default_rng(seed)
    kit = drum_kit(rng, sr=sr)
    mix = np.zeros(int(round(duration_s * sr)))
    periods = np.diff(beats_s, append=2 * beats_s[-1] - beats_s[-2])
    for beat, (t, period) in enumerate(zip(beats_s, periods, strict=True)):
        for sixteenth in range(4):
            offset = sixteenth // 2 * 0.5 + (swing if sixteenth % 2 else 0.0) * 0.5
            for name, steps in pattern.items():
                hit = steps[beat % 4 * 4 + sixteenth]
                if hit == "." or (hit == "g" and rng.random() >= ghost_p) or (
                        hit == "?" and rng.random() < 0.5):
                    continue
                start = t + offset * period + rng.normal(0.0, jitter_ms / 1000)
                _add(mix, DRUM_HIT_GAINS[hit] * kit[name], start, sr)
    return _limit(mix, 2.0)


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
