"""FileWatcher: edits, saves by rename and files missing mid-save."""

from __future__ import annotations

import os

from visualizer.presets.watch import FileWatcher


def test_reports_each_change_once(tmp_path):
    path = tmp_path / "a.toml"
    path.write_text("one")
    other = tmp_path / "b.toml"
    other.write_text("two")
    watcher = FileWatcher()
    watcher.watch([path, other])
    assert watcher.poll() == []
    path.write_text("one more")
    assert watcher.poll() == [path]
    assert watcher.poll() == []


def test_a_save_by_rename_is_a_change_even_with_the_same_size_and_time(tmp_path):
    path = tmp_path / "a.toml"
    path.write_text("one")
    stat = os.stat(path)
    watcher = FileWatcher()
    watcher.watch([path])
    replacement = tmp_path / "a.toml.tmp"
    replacement.write_text("two")  # same size
    os.utime(replacement, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # same time
    os.replace(replacement, path)
    assert watcher.poll() == [path]


def test_a_missing_file_is_reported_when_it_comes_back(tmp_path):
    path = tmp_path / "a.toml"
    path.write_text("one")
    watcher = FileWatcher()
    watcher.watch([path])
    path.unlink()
    assert watcher.poll() == []
    path.write_text("back again")
    assert watcher.poll() == [path]


def test_watching_a_new_set_keeps_the_stamps_of_files_already_watched(tmp_path):
    a, b = tmp_path / "a.toml", tmp_path / "b.toml"
    a.write_text("a")
    b.write_text("b")
    watcher = FileWatcher()
    watcher.watch([a])
    a.write_text("a changed")
    watcher.watch([a, b])
    assert watcher.poll() == [a]
    assert watcher.paths == (a, b)
