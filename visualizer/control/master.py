"""Master controls: the live parameters a VJ rides over the whole show, whatever preset runs.

They live in the ParamStore beside the controller's routes (as ``master.<field>``) but outside
`ControllerSettings` on purpose: a preset switch rewrites every controller parameter, and a
dimmer or a freeze that jumped back whenever the look changed would be useless on stage.

Who honours what (see `visualizer.app.LiveApp.step_frame`):

- ``intensity`` and ``blackout``: the renderer's output gain (the recording sees it too: it is
  what the audience saw);
- ``freeze``: the renderer holds the last picture and the generator worker pauses, so the
  latent walk stops where it was and carries on from there;
- ``truncation``: a multiplier on the latent controller's psi;
- ``crossfade_beats``: the length of the following preset switches (negative: the presets' own);
- ``hud``: the HUD on/off (the H key toggles it).
"""

from __future__ import annotations

from dataclasses import dataclass

from visualizer.core.config import setting

PREFIX = "master."


@dataclass(frozen=True)
class MasterSettings:
    intensity: float = setting(1.0, doc="output brightness, a dimmer (0 = black, 1 = full)",
                               min=0.0, max=1.0)
    blackout: bool = setting(False, doc="black output; everything keeps running underneath")
    freeze: bool = setting(False, doc="hold the picture and the latent walk where they are")
    truncation: float = setting(1.0, doc="multiplier on the truncation psi (0 = the average image, "
                                         "1 = the preset's, 2 = twice as wild; psi stays <= 2)",
                                min=0.0, max=2.0)
    crossfade_beats: float = setting(-1.0, doc="cross-fade length of the next preset switches "
                                               "(beats; 0 = cut; negative = the preset's own or "
                                               "presets.fade_beats)", min=-1.0, max=64.0)
    hud: bool = setting(False, doc="show the HUD (the H key toggles it)")


def master_param_specs(*, hud: bool = False):
    """The ParamStore specs of the master controls (``master.intensity``, ...); ``hud``: the
    HUD's state at start (display.hud)."""
    from visualizer.core.config import specs_from_schema

    return specs_from_schema(MasterSettings, MasterSettings(hud=hud), prefix=PREFIX)


def output_gain(params) -> float:
    """The renderer's output gain for a ParamSnapshot: 0 in a blackout, else the intensity."""
    return 0.0 if params.get(PREFIX + "blackout", False) else float(params.get(PREFIX + "intensity", 1.0))
