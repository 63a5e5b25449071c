"""The onset evaluation's split and scoring, without rendering anything."""

import collections

import numpy as np
import pytest

from bench.onset_eval import (CATEGORIES, FRESH_SONGS, ONSET_SONGS, TUNE_2_SONGS, chosen, score,
                              summary_rows)
from bench.rigs.musicgen import SLOW_ATTACK_PROGRAMS
from bench.rigs.musicgen import SynthesizedSong, Song


def test_every_category_has_equal_halves_and_names_are_unique():
    halves = collections.Counter((e.category, e.half) for e in ONSET_SONGS)
    assert len(halves) == 2 * len(CATEGORIES) == 20
    for category in CATEGORIES:
        assert halves[category, "tune"] == halves[category, "held_out"] >= 2, category
    assert halves["tempo_changes", "tune"] == 4  # two ramps and two steps (module docstring)
    assert halves["slow_pads", "tune"] == 4  # two over a bass, two without (module docstring)
    assert len({e.song.name for e in ONSET_SONGS}) == len(ONSET_SONGS) == 48


def test_both_halves_of_tempo_changes_hold_tempo_steps():
    for half in ("tune", "held_out"):
        steps = [e.song for e in ONSET_SONGS if e.category == "tempo_changes"
                 and e.half == half and len({s.bpm for s in e.song.sections}) > 1]
        assert len(steps) >= 2, half


def test_both_halves_of_slow_pads_hold_pads_with_no_bass_under_their_chord_changes():
    # Over a bass playing the root at each change, a pad's swell lands on a bass target and
    # counts as a hit: only pads without one test that swells do not fire.
    for half in ("tune", "held_out"):
        bare = [e.song for e in ONSET_SONGS if e.category == "slow_pads" and e.half == half
                and all(s.bass == "none" for s in e.song.sections)]
        assert len(bare) >= 2, half


def test_the_fresh_set_covers_every_category_with_songs_the_seen_halves_do_not_hold():
    counts = collections.Counter(e.category for e in FRESH_SONGS)
    assert set(counts) == set(CATEGORIES) and all(n >= 2 for n in counts.values())
    assert counts["tempo_changes"] == counts["slow_pads"] == 4
    assert {e.half for e in FRESH_SONGS} == {"fresh"}
    seen = [e.song for e in ONSET_SONGS]
    fresh = [e.song for e in FRESH_SONGS]
    # New names, seeds and definitions: nothing of it was ever scored under another name.
    assert len({s.name for s in seen + fresh}) == len(seen) + len(fresh)
    assert not {s.seed for s in seen} & {s.seed for s in fresh}
    assert not {s.sections for s in seen} & {s.sections for s in fresh}
    steps = [s for e in FRESH_SONGS if e.category == "tempo_changes"
             for s in [e.song] if len({sec.bpm for sec in s.sections}) > 1]
    assert len(steps) >= 2
    assert all(e.song.speech and e.song.speech not in {s.speech for s in seen}
               for e in FRESH_SONGS if e.category == "speech_over_music")


def test_the_default_run_scores_the_seen_halves_and_the_fresh_set_only_when_named():
    assert {e.half for e in chosen("both")} == {"tune", "held_out"}
    assert len(chosen("both")) == len(ONSET_SONGS)
    assert chosen("fresh") == list(FRESH_SONGS)
    assert [e.song.name for e in chosen("fresh", {"fresh_waltz_120", "waltz_100"})] == [
        "fresh_waltz_120"]


def test_the_extra_mastered_tuning_set_is_new_and_stays_out_of_the_default_run():
    assert {(e.category, e.half) for e in TUNE_2_SONGS} == {("mastered", "tune_2")}
    assert {e.song.master for e in TUNE_2_SONGS} == {"compressed", "distorted"}
    others = [e.song for e in ONSET_SONGS + FRESH_SONGS]
    extra = [e.song for e in TUNE_2_SONGS]
    assert len({s.name for s in others + extra}) == len(others) + len(extra)
    assert not {s.seed for s in others} & {s.seed for s in extra}
    assert not {s.sections for s in others} & {s.sections for s in extra}
    assert chosen("tune_2") == list(TUNE_2_SONGS)
    assert not {e.half for e in chosen("both")} & {"tune_2"}


def test_only_the_fresh_pads_are_slow_so_the_truth_counts_every_other_chord_as_an_attack():
    for entry in FRESH_SONGS:
        slow = entry.song.chord_program in SLOW_ATTACK_PROGRAMS
        assert slow == (entry.category == "slow_pads"), entry.song.name
        assert entry.song.bass_program not in SLOW_ATTACK_PROGRAMS, entry.song.name


def track(targets, dont_care=()) -> SynthesizedSong:
    return SynthesizedSong(song=Song("t", ()), audio=np.zeros(1, np.float32), sr=1000,
                           beats_s=np.zeros(0), onsets_s=np.asarray(targets, float),
                           tempo_segments=(), targets_s=np.asarray(targets, float),
                           dont_care_s=np.asarray(dont_care, float))


def test_score_counts_hits_misses_false_alarms_and_the_offset():
    result = score(track([1.0, 2.0, 3.0, 4.0]), np.array([1.004, 2.006, 3.2, 5.0]))
    assert result["p"] == pytest.approx(0.5) and result["r"] == pytest.approx(0.5)
    assert result["offset_ms"] == pytest.approx(5.0)


def test_an_estimate_only_a_masked_note_explains_is_not_a_false_alarm():
    with_masked = score(track([1.0, 2.0], dont_care=[1.5]), np.array([1.0, 1.51, 2.0]))
    assert with_masked["p"] == 1.0 and with_masked["n_found"] == 2
    without = score(track([1.0, 2.0]), np.array([1.0, 1.51, 2.0]))
    assert without["p"] == pytest.approx(2 / 3)


def test_the_summary_has_a_row_only_for_the_categories_a_set_holds():
    tracks = [{"track": "a", "category": "mastered", "half": "tune_2", "detector": "ours",
               "f": 0.9, "p": 1.0, "r": 0.8, "offset_ms": 5.0}]
    rows = summary_rows(tracks, ["ours"])
    assert [(r["half"], r["category"]) for r in rows] == [("tune_2", "mastered"),
                                                          ("tune_2", "ALL")]
    assert rows[0]["ours_f"] == rows[1]["ours_f"] == 0.9
