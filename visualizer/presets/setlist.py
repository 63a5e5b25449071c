"""Set lists: the show moves through a list of looks by itself, one look a phrase.

A phrase is ``setlist.phrase_bars`` bars of the deck's beat clock (bars counted from the first
beat it saw, as for quantised switches). On every phrase boundary the deck cross-fades to the
next look with its ordinary fade (the look's ``transition``, ``presets.fade_beats`` or
``/gm/crossfade``), starting on the boundary itself. ``first_bars`` lets the first look play a
song's intro only, so the switches after it land on the song's phrases.

The VJ keeps the last word: a switch by hand (keys 1-9, OSC, MIDI) holds the set list for the
next boundary, so the hand-picked look gets a phrase before the list goes on where it was.

Both `gansmania live` and `gansmania render` run it (through ``presets.live``): the same set list
renders offline to the same switches, since the offline beat clock follows the same audio.
"""

from __future__ import annotations

import logging
from pathlib import Path

from visualizer.core.errors import ConfigError, GansmaniaError
from visualizer.presets.deck import PresetDeck
from visualizer.presets.schema import Preset
from visualizer.settings import SetlistSettings

log = logging.getLogger(__name__)

MIN_LOOKS = 2


def start_look(setlist: SetlistSettings, *, preset: str | None, default: str) -> str:
    """The look a show starts with: the set list's first, else ``preset`` (--preset), else
    ``default``. ConfigError when --preset and a set list both choose it."""
    if not setlist.looks:
        return preset or default
    if preset:
        raise ConfigError(f"--preset {preset}: the set list starts with its first look "
                          f"({setlist.looks[0]}); leave out --preset, or put {preset} first in "
                          "setlist.looks")
    return setlist.looks[0]


class SetList:
    """Switches ``deck`` to the next of ``settings.looks`` on every phrase boundary.

    Call :meth:`start` once instead of ``deck.start``, then :meth:`update` after every
    ``deck.update`` (once per display frame).
    """

    def __init__(self, deck: PresetDeck, settings: SetlistSettings) -> None:
        if len(settings.looks) < MIN_LOOKS:
            raise ConfigError(f"setlist.looks has {len(settings.looks)} look(s); a set list "
                              f"switches between at least {MIN_LOOKS} (for one look use --preset)")
        self.deck = deck
        self.settings = settings
        beats_per_bar = deck.settings.beats_per_bar
        self.phrase_beats = float(settings.phrase_bars * beats_per_bar)
        first = settings.first_bars or settings.phrase_bars
        self.next_beat = float(first * beats_per_bar)  # the next boundary, in clock beats
        self.index = 0  # of the look the list showed last
        self.held = False  # a hand switch: let the next boundary pass
        self._looks: list[Path] = []

    @property
    def looks(self) -> tuple[str, ...]:
        return self.settings.looks

    def check(self) -> list[Preset]:
        """Load every look and compile its passes before the show: a misspelt or broken look
        is a one-line ConfigError naming it now, not a gap in the set an hour later."""
        presets = []
        for ref in self.looks:
            try:
                preset = self.deck.load(self.deck.find(ref))
                for name in preset.shaders:
                    self.deck.library.load(name)  # compiled once: no stall on the boundary
            except GansmaniaError as exc:
                raise ConfigError(f"setlist.looks: {ref}: {exc}") from None
            presets.append(preset)
        models = {preset.model for preset in presets}
        if len(models) > 1:
            named = ", ".join(f"{p.name}: {p.model or 'the show model'}" for p in presets)
            raise ConfigError(f"setlist.looks: the looks use different models ({named}); a set "
                              "list runs on one model (switching models needs a restart)")
        self._looks = [preset.path for preset in presets]
        return presets

    def start(self) -> Preset:
        """Check the looks and show the first one at once."""
        if not self._looks:
            self.check()
        preset = self.deck.start(self._looks[0])
        log.info("set list: %d looks, a phrase every %d bars (%s)", len(self.looks),
                 self.settings.phrase_bars, ", ".join(self.looks))
        return preset

    def hold(self) -> None:
        """A look was picked by hand: let the next phrase boundary pass without a switch."""
        self.held = True

    def update(self) -> None:
        """Switch when the deck's clock has reached the next phrase boundary."""
        position = self.deck.clock.position
        if position < self.next_beat:
            return
        boundary = self.next_beat
        while self.next_beat <= position:  # a clock that skipped past boundaries switches once
            boundary = self.next_beat
            self.next_beat += self.phrase_beats
        if self.held:
            self.held = False
            log.info("set list: holding the look picked by hand for this phrase")
            return
        if self.index + 1 >= len(self._looks) and not self.settings.loop:
            return
        self.index = (self.index + 1) % len(self._looks)
        # A look that fails to load now (edited mid-show) is reported by the deck and skipped:
        # the next boundary tries the next look.
        if self.deck.select(self._looks[self.index], start_beat=boundary):
            log.info("set list: %s from beat %g (look %d of %d)", self.looks[self.index],
                     boundary, self.index + 1, len(self._looks))
