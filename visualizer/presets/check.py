"""Validating preset files before the show: the format, every pass they use (compiled when an
EGL context can be made), and the model file they name."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from visualizer.core.errors import GansmaniaError
from visualizer.presets.loader import PresetError, load_preset
from visualizer.presets.schema import Preset
from visualizer.render.library import ShaderLibrary, default_search_dirs
from visualizer.render.passes import ShaderError, compile_pass

if TYPE_CHECKING:
    import moderngl


@dataclass(frozen=True)
class CheckResult:
    """One file's verdict: the preset when it is valid, else its one-line error."""

    path: Path
    preset: Preset | None
    error: str | None

    @property
    def ok(self) -> bool:
        return self.error is None


class PresetChecker:
    """Checks preset files against the shader library of ``shader_dirs`` (searched first) and the
    bundled/user passes. With ``ctx`` the passes are compiled too; without, only parsed."""

    def __init__(self, ctx: moderngl.Context | None, *, shader_dirs: Sequence[Path] = (),
                 model_dirs: Sequence[Path] | None = None) -> None:
        self.ctx = ctx
        self.library = ShaderLibrary(ctx, search_dirs=[*shader_dirs, *default_search_dirs()])
        self.model_dirs = model_dirs

    @property
    def compiles(self) -> bool:
        return self.ctx is not None

    def check(self, path: Path) -> CheckResult:
        try:
            preset = load_preset(path, library=self.library, model_dirs=self.model_dirs)
            if self.ctx is not None:
                self._compile(preset)
            if preset.model is not None:
                self._check_model(preset)
        except GansmaniaError as exc:
            return CheckResult(path=Path(path), preset=None, error=str(exc))
        return CheckResult(path=Path(path), preset=preset, error=None)

    def _compile(self, preset: Preset) -> None:
        assert self.ctx is not None
        for number, step in enumerate(preset.fx, start=1):
            try:
                # compile_pass, not library.load: a check reports the error itself, once, and
                # keeps nothing compiled.
                compile_pass(self.ctx, self.library.source(step.shader)).release()
            except ShaderError as exc:
                raise PresetError(preset.path, step.line, f"[[fx]] #{number} '{step.shader}': {exc}",
                                  shader=exc.path) from None

    @staticmethod
    def _check_model(preset: Preset) -> None:
        from training.checkpoint import read_header

        try:
            header = read_header(preset.model)
        except GansmaniaError as exc:
            raise PresetError(preset.path, None, f"key 'model': {exc}") from None
        kinds = {group.get("kind") for group in header.get("groups", {}).values()}
        if "generator" not in kinds:
            raise PresetError(preset.path, None, f"key 'model': {preset.model} holds no generator "
                                                 f"(groups: {', '.join(header.get('groups', {}))})")
        PresetChecker._check_keyframes(preset, header)

    @staticmethod
    def _check_keyframes(preset: Preset, header: dict) -> None:
        """The walk's keyframe files must be of the preset's model (the show's generator is
        the checkpoint's DEFAULT_GROUP, whose sha256 a keyframe holds)."""
        from training.checkpoint import DEFAULT_GROUP
        from training.keyframes import check_model, read_keyframe
        from visualizer.presets.keyframes import KEY

        digest = header["groups"].get(DEFAULT_GROUP, {}).get("sha256")
        for seed in preset.controller.walk.seeds:
            if isinstance(seed, str) and digest:
                try:
                    check_model(read_keyframe(seed), digest, model=f"the preset's model "
                                                                   f"{preset.model.name}")
                except GansmaniaError as exc:
                    raise PresetError(preset.path, None, f"key '{KEY}': {exc}") from None


def gl_context_or_reason() -> tuple[moderngl.Context | None, str]:
    """An EGL context for compiling passes, or None and why there is none."""
    from visualizer.render.headless import egl_context

    try:
        ctx = egl_context()
    except GansmaniaError as exc:
        return None, str(exc)
    return ctx, ctx.info.get("GL_RENDERER", "EGL")
