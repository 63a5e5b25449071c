"""The benchmark's music generator: its ground truth follows the arrangement, its MIDI holds
the notes, and (when fluidsynth is installed) it renders."""

import shutil

import mido
import numpy as np
import pytest

from bench.rigs.musicgen import (
    BENCH_SONGS,
    DEMO_SONG,
    MASTERS,
    Section,
    Song,
    _Note,
    arrange,
    chord_pitch_classes,
    master,
    merged_onsets,
    onset_truth,
    synthesize_song,
    write_midi,
)


def test_beat_grid_and_tempo_segments_follow_the_sections():
    song = Song("t", (Section(2, 120, meter=4), Section(3, 90, "waltz", meter=3)))
    notes, beats, segments = arrange(song)
    assert len(beats) == 2 * 4 + 3 * 3
    np.testing.assert_allclose(np.diff(beats[:8]), 0.5)
    np.testing.assert_allclose(np.diff(beats[8:]), 60 / 90)
    assert segments == ((0.0, 4.0, 120), (4.0, 10.0, 90))
    assert min(n.t_s for n in notes) == 0.0


def test_swing_moves_off_beats_and_humanising_jitters_around_the_grid():
    straight = arrange(Song("s", (Section(1, 120, "backbeat"),)))[0]
    swung = arrange(Song("w", (Section(1, 120, "backbeat", swing=0.66),)))[0]
    hats = lambda notes: sorted(n.t_s for n in notes if n.note == 42)  # noqa: E731
    assert hats(straight)[1] == pytest.approx(0.25)  # the "and" of beat 1 at 120 BPM
    assert hats(swung)[1] == pytest.approx(0.33)
    human = arrange(Song("h", (Section(4, 120, "backbeat"),), humanize_ms=10, seed=1))[0]
    offsets = np.array(hats(human)) - np.array(hats(arrange(Song("g", (Section(4, 120,
                                                                                "backbeat"),)))[0]))
    assert 0.003 < offsets.std() < 0.02


def test_merged_onsets_and_chords():
    np.testing.assert_allclose(merged_onsets(np.array([1.0, 0.0, 0.01, 0.5])), [0.0, 0.5, 1.0])
    assert chord_pitch_classes("A") == (9, 1, 4)
    assert chord_pitch_classes("F#m") == (6, 9, 1)


def test_midi_file_holds_every_note_at_its_time(tmp_path):
    notes, _, _ = arrange(BENCH_SONGS[1])
    write_midi(notes, tmp_path / "song.mid")
    midi = mido.MidiFile(str(tmp_path / "song.mid"))
    t, starts = 0.0, []
    for message in midi:  # iterating a MidiFile yields times in seconds
        t += message.time
        if message.type == "note_on" and message.velocity > 0:
            starts.append(t)
    assert len(starts) == len(notes)
    np.testing.assert_allclose(sorted(starts), sorted(n.t_s for n in notes), atol=1e-3)


@pytest.mark.skipif(shutil.which("fluidsynth") is None,
                    reason="fluidsynth is a benchmark package (`make bench-packages`)")
def test_render_makes_audio_as_long_as_the_song():
    short = Song("short", (Section(2, 120, "four_on_floor", "offbeat", "stabs"),))
    rendered = synthesize_song(short, sr=22050)
    assert rendered.audio.shape[0] == pytest.approx(5.0 * 22050, abs=10)
    assert np.abs(rendered.audio).max() == pytest.approx(10 ** (-1 / 20), rel=1e-3)
    assert len(rendered.beats_s) == 8 and rendered.onsets_s[0] == 0.0


def test_the_demo_song_is_124_bpm_with_several_sections():
    _, beats, segments = arrange(DEMO_SONG)
    assert {bpm for _, _, bpm in segments} == {124}
    assert 30 <= segments[-1][1] <= 40 and len(DEMO_SONG.sections) >= 4


def test_a_ramp_moves_the_tempo_bar_by_bar():
    _, beats, segments = arrange(Song("r", (Section(5, 120, bpm_end=140),)))
    assert [bpm for _, _, bpm in segments] == [120, 125, 130, 135, 140]
    np.testing.assert_allclose(np.diff(beats[:4]), 0.5)
    np.testing.assert_allclose(np.diff(beats[-4:]), 60 / 140)


def test_onset_targets_leave_out_pads_and_masked_notes():
    pad = Song("p", (Section(2, 120, "none", "none", "whole"),), chord_program=89)
    notes, _, _ = arrange(pad)
    targets, dont_care = onset_truth(pad, notes)
    assert notes and targets.size == 0 and dont_care.size == 0  # a swell is no attack
    loud, ghost = _Note(0.0, 9, 38, 120, 0.1), _Note(0.03, 9, 42, 30, 0.1)  # 24 dB, 30 ms
    targets, dont_care = onset_truth(Song("g", ()), [loud, ghost, _Note(0.5, 9, 42, 30, 0.1)])
    np.testing.assert_allclose(targets, [0.0, 0.5])  # the lone quiet note is a target
    np.testing.assert_allclose(dont_care, [0.03])


def test_masters_keep_the_length_and_bound_the_peak():
    audio = np.sin(np.linspace(0, 400, 4000)) * np.linspace(0, 1, 4000)
    for kind in MASTERS:
        out = master(audio, kind, sr=8000)
        assert out.shape == audio.shape and np.abs(out).max() <= 1.0 + 1e-6
    squashed = master(audio, "compressed", sr=8000)
    assert np.abs(squashed[-500:]).max() < 0.5  # 6:1 above -30 dB pulls the peaks down
    with pytest.raises(ValueError, match="allowed: clean"):
        master(audio, "tape", sr=8000)
