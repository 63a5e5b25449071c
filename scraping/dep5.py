"""Debian's machine-readable copyright files (DEP-5): who made a file and under which licence.

A ``Files`` paragraph names files by glob patterns relative to the *source* tree, while the
images we read lie in the *installed* tree (``usr/share/...``) or below some folder of it. So a
pattern matches a path when it matches the path or a tail of it, also with the pattern's
leading folders dropped (``mandelbulber2/deploy/share/mandelbulber2/examples/X/*`` governs
``usr/share/mandelbulber2/examples/X/a.fract`` and ``X/a.fract``); it is never cut down to its
file name alone, which would let a stanza about one folder's ``*`` claim every file. As DEP-5
says, the last matching paragraph wins. Some packages install ``16.04/x.jpg`` as
``backgrounds/x.jpg``, losing the folder: when only the catch-all ``*`` matched, a pattern that
names the file itself (its last part, without wildcards) decides.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Stanza:
    """One ``Files`` paragraph."""

    patterns: tuple[str, ...]
    copyright: str  # the Copyright field, lines joined by newlines
    licence: str    # the first line of the License field, as written ("GPL-3+", "CC-BY-4.0")

    @property
    def authors(self) -> tuple[str, ...]:
        """The holders' names: years, "©", "Copyright" and e-mail addresses dropped."""
        names = []
        for holder in re.split(r"\s*(?:\n|;)\s*", self.copyright):
            holder = re.sub(r"<[^>]*>|©|\(c\)|copyright|\b\d{4}(?:\s*[-–]\s*\d{4})?\b", "",
                            holder, flags=re.I)
            holder = " ".join(holder.split()).strip(" ,.")
            if holder:
                names.append(holder)
        return tuple(dict.fromkeys(names))


def parse(text: str) -> list[Stanza]:
    """The ``Files`` paragraphs of a DEP-5 file, in file order ([] for a free-form file)."""
    stanzas = []
    for paragraph in re.split(r"\n\s*\n", text):
        fields: dict[str, str] = {}
        name = None
        for line in paragraph.splitlines():
            if line[:1] in (" ", "\t") and name:
                fields[name] += "\n" + line.strip()
            elif ":" in line:
                name, _, value = line.partition(":")
                name = name.strip().lower()
                fields[name] = value.strip()
        if "files" in fields and "license" in fields:
            stanzas.append(Stanza(patterns=tuple(fields["files"].split()),
                                  copyright=fields.get("copyright", "").strip(),
                                  licence=fields["license"].splitlines()[0].strip()))
    return stanzas


def governing(stanzas: list[Stanza], path: str) -> Stanza | None:
    """The paragraph that governs ``path`` (POSIX, relative): the last one that matches."""
    found = None
    for stanza in stanzas:
        if any(matches(pattern, path) for pattern in stanza.patterns):
            found = stanza
    if found is None or found.patterns == ("*",):
        name = path.rsplit("/", 1)[-1]
        for stanza in stanzas:
            if any(pattern.rsplit("/", 1)[-1] == name for pattern in stanza.patterns):
                found = stanza
    return found


def matches(pattern: str, path: str) -> bool:
    """Whether a DEP-5 pattern names ``path`` (see the module doc for the tail rule)."""
    parts = pattern.split("/")
    # Drop leading folders while at least a folder and a name are left.
    for start in range(max(1, len(parts) - 1)):
        rest = "/".join(parts[start:])
        if fnmatch.fnmatchcase(path, rest) or fnmatch.fnmatchcase(path, "*/" + rest):
            return True
    return False


def spdx(licence: str) -> str:
    """Debian's short names in SPDX form where they differ ("GPL-3+" -> "GPL-3.0-or-later")."""
    match = re.fullmatch(r"((?:L|A)?GPL)-(\d)(?:\.(\d))?(\+?)", licence.strip())
    if not match:
        return licence.strip()
    name, major, minor, plus = match.groups()
    return f"{name}-{major}.{minor or 0}-{'or-later' if plus else 'only'}"
