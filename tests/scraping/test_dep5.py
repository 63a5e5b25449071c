"""DEP-5 copyright files: the last matching paragraph wins, patterns of the source tree govern
installed paths, and a file installed into another folder is still found by its name."""

from __future__ import annotations

from scraping import dep5

COPYRIGHT = """\
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: testart

Files: *
Copyright: 2001, Packager Person <p@example.org>
License: GPL-2+

Files: art/waves.png
 art/drawing.svg
Copyright: © 2014-2020, Ann Artist <ann@example.org>
           2021 Cy Second
License: CC-BY-SA-4.0
 The licence text follows here.

Files: 16.04/lonely.png
Copyright: Bea Painter, 2018
License: GPL-2

Files: tool/deploy/share/tool/examples/Some?One?collection/*
Copyright: 2019, Some One
License: CC-BY-4.0
"""


def test_paragraphs_are_read_with_their_holders_and_licence():
    stanzas = dep5.parse(COPYRIGHT)
    assert [s.licence for s in stanzas] == ["GPL-2+", "CC-BY-SA-4.0", "GPL-2", "CC-BY-4.0"]
    assert stanzas[1].patterns == ("art/waves.png", "art/drawing.svg")
    assert stanzas[1].authors == ("Ann Artist", "Cy Second")
    assert stanzas[2].authors == ("Bea Painter",)
    assert dep5.parse("This package was debianized by someone.\n") == []


def test_the_last_matching_paragraph_governs_an_installed_path():
    stanzas = dep5.parse(COPYRIGHT)
    assert dep5.governing(stanzas, "usr/share/x/art/drawing.svg").licence == "CC-BY-SA-4.0"
    assert dep5.governing(stanzas, "usr/share/x/other.png").licence == "GPL-2+"
    # Leading source folders are dropped, down to a folder and a name:
    example = "usr/share/tool/examples/Some One collection/scene.fract"
    assert dep5.governing(stanzas, example).licence == "CC-BY-4.0"
    assert dep5.governing(stanzas, "Some One collection/scene.fract").licence == "CC-BY-4.0"
    assert dep5.governing(stanzas, "usr/share/tool/examples/top.fract").licence == "GPL-2+"


def test_a_file_installed_without_its_folder_is_found_by_name():
    stanzas = dep5.parse(COPYRIGHT)
    assert dep5.governing(stanzas, "usr/share/backgrounds/lonely.png").licence == "GPL-2"
    assert dep5.governing([], "any.png") is None


def test_debian_short_names_become_spdx():
    assert dep5.spdx("GPL-3+") == "GPL-3.0-or-later"
    assert dep5.spdx("LGPL-2.1") == "LGPL-2.1-only"
    assert dep5.spdx("CC-BY-4.0") == "CC-BY-4.0"
