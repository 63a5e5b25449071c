"""Music-like material with a known answer: drums + bass + chords rendered from MIDI.

A `Song` is a list of `Section`s (tempo, meter, drum/bass/chord patterns, swing); `synthesize_song`
turns it into MIDI (mido), renders it with fluidsynth and Debian's General MIDI soundfont
(fluid-soundfont-gm, MIT licence) and returns the audio with its ground truth: the beat grid,
every note onset and the tempo at every moment. The benchmark and the bundled demo track are
made with it. Needs `fluidsynth` and `fluid-soundfont-gm` (the Makefile's bench packages) and
`mido` (the dev extra); speech over music (`Song.speech`) needs `espeak-ng`.

Onset ground truth (`SynthesizedSong.targets_s`, what `bench.onset_eval` scores against) is the
notes a listener hears start: merged note onsets, less two kinds of note that are not attacks:

- notes of slow-attack instruments (`SLOW_ATTACK_PROGRAMS`: strings, choir, warm and sweep pads,
  which take 70-300 ms to come within 10 dB of their peak in FluidR3): a swell has no instant
  to find within 50 ms, and a detector should stay quiet on it, so a detection there is a false
  alarm;
- masked notes (`masked`): a note MASK_DB or more quieter (by MIDI velocity, 40 log10(v1/v2) dB,
  fluidsynth's velocity curve) than one that started up to MASK_S before it. Those are
  "don't care" (`dont_care_s`): neither required nor counted as false alarms.
"""

from __future__ import annotations

import random
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from visualizer.core.errors import GansmaniaError

SOUNDFONT_CANDIDATES = (Path("/usr/share/sounds/sf2/FluidR3_GM.sf2"),
                        Path("/usr/share/sounds/sf2/default-GM.sf2"))
DRUM_CHANNEL = 9  # General MIDI percussion (channel 10, counted from 1)
KICK, SIDE_STICK, SNARE, CLAP, CLOSED_HAT, OPEN_HAT, CRASH, RIDE = 36, 37, 38, 39, 42, 46, 49, 51
BASS_PROGRAM, CHORD_PROGRAM = 33, 4  # fingered electric bass, electric piano 1
# GM programs whose attack takes 70-300 ms to reach -10 dB of the peak in FluidR3 (measured):
# string ensemble, slow strings, choir aahs, warm pad, sweep pad.
SLOW_ATTACK_PROGRAMS = frozenset({48, 49, 52, 89, 95})
ONSET_MERGE_S = 0.03  # notes closer than this are one perceived onset (humanised chords)
MASK_S, MASK_DB = 0.05, 20.0  # a note this much quieter this soon after another is masked
MASTERS = ("clean", "compressed", "distorted")
# Percussion for the sparse pattern (GM keys): low tom, high bongo, low conga, claves, shaker.
LOW_TOM, HIGH_BONGO, LOW_CONGA, CLAVES, SHAKER = 45, 60, 64, 75, 82


@dataclass(frozen=True)
class Hit:
    """One note of a pattern, placed in the bar."""

    beat: float  # position from the bar start, in beats
    velocity: int  # MIDI velocity 1-127
    length_beats: float = 0.25
    note: int = 0  # drum key; for bass/chords an offset added to the chord's notes


def _every(step: float, *, beats: int, start: float = 0.0, note: int, velocity: int,
           length_beats: float = 0.1) -> tuple[Hit, ...]:
    count = int(np.ceil((beats - start) / step - 1e-9))
    return tuple(Hit(start + i * step, velocity, length_beats, note) for i in range(count))


def _drums(name: str, meter: int) -> tuple[Hit, ...]:
    beats = meter
    if name == "none":
        return ()
    if name == "four_on_floor":
        return (_every(1, beats=beats, note=KICK, velocity=112)
                + tuple(Hit(b, 96, 0.1, CLAP) for b in range(1, beats, 2))
                + _every(1, beats=beats, start=0.5, note=OPEN_HAT, velocity=78)
                + _every(1, beats=beats, start=0.25, note=CLOSED_HAT, velocity=58)
                + _every(1, beats=beats, start=0.75, note=CLOSED_HAT, velocity=58))
    if name == "backbeat":  # rock/pop: kick 1 and 3(+and), snare 2 and 4, eighth hats
        return ((Hit(0, 110, 0.1, KICK), Hit(2, 104, 0.1, KICK), Hit(2.5, 88, 0.1, KICK))
                + tuple(Hit(b, 106, 0.1, SNARE) for b in range(1, beats, 2))
                + _every(0.5, beats=beats, note=CLOSED_HAT, velocity=72))
    if name == "boombap":  # hip-hop: syncopated kick, snare on 2 and 4, (swung) eighth hats
        return ((Hit(0, 112, 0.1, KICK), Hit(1.75, 86, 0.1, KICK), Hit(2.5, 104, 0.1, KICK))
                + tuple(Hit(b, 108, 0.1, SNARE) for b in range(1, beats, 2))
                + _every(0.5, beats=beats, note=CLOSED_HAT, velocity=66))
    if name == "dnb":  # two-step: kick 1 and 3-and, snare 2 and 4 at 170-175 BPM
        return ((Hit(0, 114, 0.1, KICK), Hit(2.5, 104, 0.1, KICK))
                + tuple(Hit(b, 110, 0.1, SNARE) for b in range(1, beats, 2))
                + _every(0.5, beats=beats, note=CLOSED_HAT, velocity=68))
    if name == "waltz":  # 3/4: kick on 1, side stick and hat on 2 and 3
        return ((Hit(0, 112, 0.1, KICK),)
                + tuple(Hit(b, 90, 0.1, SIDE_STICK) for b in range(1, beats))
                + _every(1, beats=beats, note=CLOSED_HAT, velocity=64))
    if name == "sixteenths":  # techno/house: kick every beat, clap 2 and 4, sixteenth hats
        return (_every(1, beats=beats, note=KICK, velocity=114)
                + tuple(Hit(b, 100, 0.1, CLAP) for b in range(1, beats, 2))
                + tuple(Hit(i / 4, 76 if i % 2 else 60, 0.05, CLOSED_HAT)
                        for i in range(4 * beats) if i % 4))
    if name == "breakbeat":  # jungle: kick/snare two-step, sixteenth hats, ghost snares
        return ((Hit(0, 114, 0.1, KICK), Hit(1.75, 96, 0.1, KICK), Hit(2.5, 106, 0.1, KICK))
                + tuple(Hit(b, 110, 0.1, SNARE) for b in range(1, beats, 2))
                + (Hit(1.5, 34, 0.05, SNARE), Hit(3.25, 32, 0.05, SNARE))[: beats // 2]
                + _every(0.25, beats=beats, note=CLOSED_HAT, velocity=64, length_beats=0.05))
    if name == "seven":  # 7/8 counted in eighths, 2+2+3: kick, snare, then kick-hat-snare
        return ((Hit(0, 112, 0.1, KICK), Hit(2, 104, 0.1, SNARE), Hit(4, 110, 0.1, KICK),
                 Hit(6, 100, 0.1, SNARE))[: 4 if beats >= 7 else 2]
                + _every(1, beats=beats, note=CLOSED_HAT, velocity=66))
    if name == "sparse":  # ambient percussion: a few unlike hits, most beats empty
        return tuple(hit for hit in (Hit(0, 96, 0.2, LOW_TOM), Hit(1.5, 80, 0.1, CLAVES),
                                     Hit(2.75, 88, 0.1, HIGH_BONGO), Hit(3.5, 70, 0.2, SHAKER))
                     if hit.beat < beats)
    raise ValueError(f"unknown drum pattern {name!r}; allowed: {', '.join(DRUM_PATTERNS)}")


DRUM_PATTERNS = ("none", "four_on_floor", "backbeat", "boombap", "dnb", "waltz", "sixteenths",
                 "breakbeat", "seven", "sparse")


def _bass(name: str, meter: int) -> tuple[Hit, ...]:
    if name == "none":
        return ()
    if name == "offbeat":  # house: root on every off-beat eighth
        return _every(1, beats=meter, start=0.5, note=0, velocity=100, length_beats=0.4)
    if name == "roots":  # one long root per half bar (per bar in 3/4)
        step = 2 if meter % 2 == 0 else meter
        return _every(step, beats=meter, note=0, velocity=100, length_beats=step - 0.2)
    if name == "syncopated":
        return (Hit(0, 104, 0.7, 0), Hit(1.5, 92, 0.4, 0), Hit(2.5, 100, 0.7, 12),
                Hit(3.5, 90, 0.4, 0))[: 4 if meter == 4 else 2]
    if name == "quarters":
        return _every(1, beats=meter, note=0, velocity=96, length_beats=0.8)
    raise ValueError(f"unknown bass pattern {name!r}; allowed: {', '.join(BASS_PATTERNS)}")


BASS_PATTERNS = ("none", "offbeat", "roots", "syncopated", "quarters")


def _chords(name: str, meter: int) -> tuple[Hit, ...]:
    if name == "none":
        return ()
    if name == "stabs":  # house: short chords on the off-beats
        return _every(1, beats=meter, start=0.5, note=0, velocity=84, length_beats=0.25)
    if name == "whole":
        return (Hit(0, 86, meter - 0.1, 0),)
    if name == "halves":
        return _every(2, beats=meter, note=0, velocity=84, length_beats=1.9)
    if name == "after_beats":  # waltz "oom-pah-pah": chords on 2 and 3
        return tuple(Hit(b, 80, 0.6, 0) for b in range(1, meter))
    raise ValueError(f"unknown chord pattern {name!r}; allowed: {', '.join(CHORD_PATTERNS)}")


CHORD_PATTERNS = ("none", "stabs", "whole", "halves", "after_beats")

_ROOTS = {"C": 0, "C#": 1, "Db": 1, "D": 2, "D#": 3, "Eb": 3, "E": 4, "F": 5, "F#": 6,
          "Gb": 6, "G": 7, "G#": 8, "Ab": 8, "A": 9, "A#": 10, "Bb": 10, "B": 11}


def chord_pitch_classes(symbol: str) -> tuple[int, int, int]:
    """Root, third and fifth pitch classes of a chord symbol such as "A", "F#m" or "Bb"."""
    minor = symbol.endswith("m")
    root = _ROOTS[symbol[:-1] if minor else symbol]
    return root, (root + (3 if minor else 4)) % 12, (root + 7) % 12


@dataclass(frozen=True)
class Section:
    """Bars that share a tempo, meter and patterns."""

    bars: int
    bpm: float
    drums: str = "four_on_floor"
    bass: str = "roots"
    chords: str = "whole"
    meter: int = 4  # beats per bar
    swing: float = 0.5  # where the off-beat eighth falls, as a fraction of the beat (0.5 straight)
    bpm_end: float | None = None  # a ramp: the tempo moves bar by bar from bpm to this


@dataclass(frozen=True)
class Song:
    name: str
    sections: tuple[Section, ...]
    progression: tuple[str, ...] = ("Am", "F", "C", "G")  # one chord per bar, repeating
    humanize_ms: float = 0.0  # std-dev of the random timing error of every note
    seed: int = 0
    bass_program: int = BASS_PROGRAM  # General MIDI program of the bass
    chord_program: int = CHORD_PROGRAM  # ... and of the chords (SLOW_ATTACK_PROGRAMS: a pad)
    master: str = "clean"  # the mix's last stage, one of MASTERS
    speech: str = ""  # words spoken over the music (espeak-ng); their onsets are not targets


@dataclass(frozen=True)
class SynthesizedSong:
    """A rendered song and its answers (times in seconds from the start of ``audio``)."""

    song: Song
    audio: np.ndarray  # shape (n,), float32 mono, peak -1 dBFS
    sr: int
    beats_s: np.ndarray  # every beat of the grid (drum-less bars included)
    onsets_s: np.ndarray  # every perceived note onset (notes within ONSET_MERGE_S merged)
    tempo_segments: tuple[tuple[float, float, float], ...]  # (start_s, end_s, bpm)
    midi_path: Path | None = field(default=None, compare=False)
    targets_s: np.ndarray = field(default_factory=lambda: np.zeros(0))  # attacks (module doc)
    dont_care_s: np.ndarray = field(default_factory=lambda: np.zeros(0))  # masked notes

    def bpm_at(self, t_s: np.ndarray) -> np.ndarray:
        """The true tempo at each time in ``t_s``."""
        out = np.full(np.shape(t_s), np.nan)
        for start, end, bpm in self.tempo_segments:
            out[(t_s >= start) & (t_s < end)] = bpm
        return out


@dataclass(frozen=True)
class _Note:
    t_s: float
    channel: int
    note: int
    velocity: int
    length_s: float


def _swing(position: float, swing: float) -> float:
    """Move off-beat eighths to ``swing`` of the beat and sixteenths proportionally."""
    whole, frac = divmod(position, 1.0)
    if abs(frac - 0.5) < 1e-9:
        frac = swing
    elif abs(frac - 0.25) < 1e-9:
        frac = swing / 2
    elif abs(frac - 0.75) < 1e-9:
        frac = (1 + swing) / 2
    return whole + frac


def arrange(song: Song) -> tuple[list[_Note], np.ndarray, tuple[tuple[float, float, float], ...]]:
    """The song's notes (with humanised timing), its beat grid and its tempo segments."""
    rng = random.Random(song.seed)
    notes: list[_Note] = []
    beats: list[float] = []
    segments = []
    t_bar, bar_number = 0.0, 0
    for section in song.sections:
        start_s = t_bar
        for bar in range(section.bars):
            bpm = section.bpm
            if section.bpm_end is not None:  # a ramp: each bar a step nearer bpm_end
                bpm += (section.bpm_end - section.bpm) * bar / max(section.bars - 1, 1)
                segments.append((t_bar, t_bar + section.meter * 60.0 / bpm, bpm))
            beat_s = 60.0 / bpm
            chord = chord_pitch_classes(song.progression[bar_number % len(song.progression)])
            beats.extend(t_bar + b * beat_s for b in range(section.meter))
            layers: list[tuple[int, tuple[Hit, ...], Callable[[Hit], list[int]]]] = [
                (DRUM_CHANNEL, _drums(section.drums, section.meter), lambda h: [h.note]),
                (1, _bass(section.bass, section.meter), lambda h: [36 + chord[0] + h.note]),
                (2, _chords(section.chords, section.meter),
                 lambda h: [60 + pc if pc >= chord[0] else 72 + pc for pc in chord]),
            ]
            if t_bar == start_s and section.drums != "none":  # a crash opens each drum section
                notes.append(_Note(t_bar, DRUM_CHANNEL, CRASH, 100, 0.5))
            for channel, hits, pitches in layers:
                for hit in hits:
                    jitter = rng.gauss(0.0, song.humanize_ms / 1000.0) if song.humanize_ms else 0.0
                    t = t_bar + _swing(hit.beat, section.swing) * beat_s + jitter
                    velocity = max(1, min(127, hit.velocity + rng.randint(-8, 8)))
                    for pitch in pitches(hit):
                        notes.append(_Note(max(t, 0.0), channel, pitch, velocity,
                                           hit.length_beats * beat_s))
            t_bar += section.meter * beat_s
            bar_number += 1
        if section.bpm_end is None:
            segments.append((start_s, t_bar, section.bpm))
    return notes, np.asarray(beats), tuple(segments)


def onset_truth(song: Song, notes: list[_Note]) -> tuple[np.ndarray, np.ndarray]:
    """(targets, don't-care times) in seconds: the attacks a detector should find, and the
    masked notes it may find or not (see the module docstring)."""
    slow = {1: song.bass_program in SLOW_ATTACK_PROGRAMS,
            2: song.chord_program in SLOW_ATTACK_PROGRAMS}
    attacks = sorted((n for n in notes if not slow.get(n.channel, False)), key=lambda n: n.t_s)
    targets, masked = [], []
    for i, note in enumerate(attacks):
        j, louder = i - 1, False
        while j >= 0 and note.t_s - attacks[j].t_s <= MASK_S:
            if (note.t_s - attacks[j].t_s > 1e-9
                    and 40.0 * np.log10(attacks[j].velocity / note.velocity) >= MASK_DB):
                louder = True
                break
            j -= 1
        (masked if louder else targets).append(note.t_s)
    kept = merged_onsets(np.asarray(targets))
    return kept, np.asarray(sorted(masked))


def merged_onsets(times_s: np.ndarray, *, merge_s: float = ONSET_MERGE_S) -> np.ndarray:
    """Sorted onset times with every cluster closer than ``merge_s`` reduced to its first."""
    ordered = np.sort(np.asarray(times_s, dtype=float))
    if ordered.size == 0:
        return ordered
    keep = [ordered[0]]
    for t in ordered[1:]:
        if t - keep[-1] >= merge_s:
            keep.append(t)
    return np.asarray(keep)


def write_midi(notes: list[_Note], path: Path, *, bass_program: int = BASS_PROGRAM,
               chord_program: int = CHORD_PROGRAM) -> None:
    """Write ``notes`` as a type-0 MIDI file at a fixed 120 BPM grid of 1/1920 s ticks."""
    import mido

    ticks_per_beat = 960  # at 120 BPM: 1920 ticks per second, 0.52 ms resolution
    to_ticks = 2 * ticks_per_beat / 1.0  # ticks per second at 120 BPM
    events: list[tuple[int, int, mido.Message]] = []
    for channel, program in ((1, bass_program), (2, chord_program)):
        events.append((0, 0, mido.Message("program_change", channel=channel, program=program)))
    for n in notes:
        on, off = round(n.t_s * to_ticks), round((n.t_s + n.length_s) * to_ticks)
        # Note-offs sort before note-ons at the same tick so a repeated pitch retriggers.
        events.append((on, 1, mido.Message("note_on", channel=n.channel, note=n.note,
                                            velocity=n.velocity)))
        events.append((max(off, on + 1), 0, mido.Message("note_off", channel=n.channel,
                                                         note=n.note, velocity=0)))
    events.sort(key=lambda e: (e[0], e[1]))
    track = mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=500_000, time=0)])
    now = 0
    for tick, _, message in events:
        track.append(message.copy(time=tick - now))
        now = tick
    midi = mido.MidiFile(type=0, ticks_per_beat=ticks_per_beat)
    midi.tracks.append(track)
    midi.save(str(path))


def soundfont() -> Path:
    for path in SOUNDFONT_CANDIDATES:
        if path.exists():
            return path
    raise GansmaniaError("no General MIDI soundfont found at "
                         f"{', '.join(map(str, SOUNDFONT_CANDIDATES))}; "
                         "install fluid-soundfont-gm (`make bench-packages`)")


def render_notes(notes: list[_Note], *, name: str, sr: int, workdir: Path | None = None,
                 bass_program: int = BASS_PROGRAM, chord_program: int = CHORD_PROGRAM
                 ) -> np.ndarray:
    """``notes`` as MIDI through fluidsynth and the GM soundfont: mono float32 at ``sr``."""
    import soundfile

    binary = shutil.which("fluidsynth")
    if binary is None:
        raise GansmaniaError("fluidsynth is not installed; run `make bench-packages`")
    with tempfile.TemporaryDirectory(prefix="gm-song-") as tmp:
        folder = Path(workdir or tmp)
        midi_path, wav_path = folder / f"{name}.mid", folder / f"{name}.wav"
        write_midi(notes, midi_path, bass_program=bass_program, chord_program=chord_program)
        result = subprocess.run(
            [binary, "-n", "-i", "-q", "-r", str(sr), "-g", "0.5", "-O", "s16", "-T", "wav",
             "-F", str(wav_path), str(soundfont()), str(midi_path)],
            capture_output=True, text=True, timeout=300, check=False)
        if result.returncode != 0 or not wav_path.exists():
            raise GansmaniaError(f"fluidsynth failed on {midi_path.name}: "
                                 f"{(result.stderr or result.stdout).strip()[-300:]}")
        audio, file_sr = soundfile.read(str(wav_path), dtype="float32", always_2d=True)
    if file_sr != sr:
        raise GansmaniaError(f"fluidsynth rendered at {file_sr} Hz, asked for {sr} Hz")
    return audio.mean(axis=1)


def synthesize_song(song: Song, *, sr: int = 44100, workdir: Path | None = None) -> SynthesizedSong:
    """Render ``song`` through fluidsynth; returns the mono audio and its ground truth."""
    notes, beats, segments = arrange(song)
    mono = render_notes(notes, name=song.name, sr=sr, workdir=workdir,
                        bass_program=song.bass_program, chord_program=song.chord_program)
    end = int((segments[-1][1] + 1.0) * sr)  # the last bar plus a second of release
    mono = master(mono[:end], song.master, sr=sr)
    if song.speech:
        mono = mono + speech(song.speech, sr=sr, length=mono.shape[0], seed=song.seed,
                             level_rms=float(np.sqrt(np.mean(mono ** 2))))
    peak = float(np.max(np.abs(mono))) or 1.0
    mono = (mono * (10 ** (-1 / 20) / peak)).astype(np.float32)
    onsets = merged_onsets(np.asarray([n.t_s for n in notes]))
    targets, dont_care = onset_truth(song, notes)
    return SynthesizedSong(song=song, audio=mono, sr=sr, beats_s=beats, onsets_s=onsets,
                    tempo_segments=segments,
                    midi_path=Path(workdir) / f"{song.name}.mid" if workdir is not None else None,
                    targets_s=targets, dont_care_s=dont_care)


def master(audio: np.ndarray, kind: str, *, sr: int) -> np.ndarray:
    """The mix's last stage: ``clean``; ``compressed`` (6:1 above -30 dB of the peak, 2 ms
    attack, 60 ms release, as a loud master pumps); ``distorted`` (tanh drive, 12 dB)."""
    if kind not in MASTERS:
        raise ValueError(f"unknown master {kind!r}; allowed: {', '.join(MASTERS)}")
    audio = audio / (float(np.max(np.abs(audio))) or 1.0)
    if kind == "distorted":
        return np.tanh(4.0 * audio) / np.tanh(4.0)
    if kind == "compressed":
        level = np.abs(audio).astype(np.float64)
        attack, release = np.exp(-1 / (0.002 * sr)), np.exp(-1 / (0.06 * sr))
        envelope = np.empty_like(level)
        state = 0.0
        for i, x in enumerate(level):  # a peak follower: rises in ~2 ms, falls in ~60 ms
            coeff = attack if x > state else release
            state = coeff * state + (1 - coeff) * x
            envelope[i] = state
        over_db = 20 * np.log10(np.maximum(envelope, 1e-9)) + 30.0
        gain_db = -np.maximum(over_db, 0.0) * (1 - 1 / 6)
        return audio * 10 ** (gain_db / 20)
    return audio


def speech(text: str, *, sr: int, length: int, seed: int, level_rms: float) -> np.ndarray:
    """``text`` spoken by espeak-ng, repeated to fill ``length`` samples with a pause between
    takes, at the music's RMS (a voice over a bed, as in a DJ drop or a podcast intro)."""
    import soundfile

    binary = shutil.which("espeak-ng")
    if binary is None:
        raise GansmaniaError("espeak-ng is not installed; run `make bench-packages`")
    with tempfile.TemporaryDirectory(prefix="gm-speech-") as tmp:
        wav = Path(tmp) / "speech.wav"
        subprocess.run([binary, "-s", "165", "-p", str(30 + seed % 40), "-w", str(wav), text],
                       capture_output=True, check=True, timeout=60)
        voice, voice_sr = soundfile.read(str(wav), dtype="float32")
    voice = np.interp(np.arange(0, voice.shape[0], voice_sr / sr), np.arange(voice.shape[0]),
                      voice).astype(np.float32)
    out = np.zeros(length, dtype=np.float32)
    start = int(0.7 * sr)
    while start < length:
        take = voice[: length - start]
        out[start:start + take.shape[0]] = take
        start += take.shape[0] + int(1.3 * sr)
    rms = float(np.sqrt(np.mean(out[out != 0] ** 2))) if np.any(out) else 1.0
    return out * (level_rms / rms)


# The benchmark set: 70-175 BPM, humanised timing, a drum-less breakdown, swing, 3/4 and a
# tempo change. About 30 s each, so the whole set renders and analyses in well under a minute.
BENCH_SONGS: tuple[Song, ...] = (
    Song("house_124_breakdown", (
        Section(4, 124, "four_on_floor", "offbeat", "stabs"),
        Section(4, 124, "none", "offbeat", "stabs"),  # drum-less breakdown
        Section(8, 124, "four_on_floor", "offbeat", "stabs")), humanize_ms=3, seed=1),
    Song("hiphop_90_swing", (Section(12, 90, "boombap", "syncopated", "whole", swing=0.64),),
         progression=("Dm", "Gm", "Bb", "A"), humanize_ms=12, seed=2),
    Song("dnb_174", (Section(24, 174, "dnb", "roots", "whole"),),
         progression=("Fm", "Db", "Ab", "Eb"), humanize_ms=4, seed=3),
    Song("ballad_70_humanised", (Section(9, 70, "backbeat", "roots", "halves"),),
         progression=("C", "Am", "F", "G"), humanize_ms=15, seed=4),
    Song("waltz_3_4_132", (Section(20, 132, "waltz", "roots", "after_beats", meter=3),),
         progression=("G", "Em", "C", "D"), humanize_ms=8, seed=5),
    Song("pop_tempo_change_110_128", (
        Section(8, 110, "backbeat", "roots", "halves"),
        Section(8, 128, "backbeat", "quarters", "halves")),
         progression=("E", "C#m", "A", "B"), humanize_ms=6, seed=6),
    Song("rock_150_humanised", (Section(20, 150, "backbeat", "quarters", "halves"),),
         progression=("A", "D", "E", "D"), humanize_ms=10, seed=7),
    Song("funk_100_swing16", (Section(12, 100, "boombap", "syncopated", "stabs", swing=0.58),),
         progression=("Em", "A", "Em", "B"), humanize_ms=8, seed=8),
    Song("dnb_175_breakdown", (
        Section(12, 175, "dnb", "roots", "whole"),
        Section(4, 175, "none", "quarters", "halves"),  # drum-less breakdown at a fast tempo
        Section(8, 175, "dnb", "roots", "whole")), progression=("Cm", "Ab", "Eb", "Bb"),
         humanize_ms=4, seed=9),
)

# The bundled demo track: ~36 s at 124 BPM with an intro, a groove, a drum-less breakdown and
# a drop, so every visual reaction (bass, beats, chords, silence of the drums) shows.
DEMO_SONG = Song("demo_track", (
    Section(2, 124, "none", "none", "whole"),
    Section(4, 124, "four_on_floor", "offbeat", "none"),
    Section(4, 124, "four_on_floor", "offbeat", "stabs"),
    Section(4, 124, "none", "roots", "whole"),
    Section(4, 124, "four_on_floor", "offbeat", "stabs")),
    progression=("Am", "F", "C", "G"), humanize_ms=3, seed=124)
