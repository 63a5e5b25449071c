"""Shader pass files: the header format, its parser, and compiling a pass into a GL program.

A pass is one ``shaders/NAME.glsl`` file: a GLSL 330 fragment shader body (``void main()``
writing ``f_color``) below a machine-readable header of ``// @`` lines::

    // @doc Radial zoom that pulses on onsets.
    // @param amount float 0.0 1.0 0.25 "how far the picture zooms on an onset"
    // @param segments int 2 16 6 "mirror segments"
    // @param invert bool false "swap light and dark"
    // @texture u_to "the look being faded to"
    // @mipmaps
    uniform float amount;
    uniform int segments;
    uniform bool invert;
    uniform sampler2D u_to;
    void main() { f_color = texture(u_input, v_uv); }

Every ``@param`` needs its ``uniform TYPE NAME;`` and every uniform the file declares needs an
``@param`` or ``@texture`` line (the preset could not set it otherwise). ``@mipmaps`` asks the
chain to build mipmaps of the input before the pass (cheap wide blurs through ``textureLod``).
The standard uniforms of :data:`PREAMBLE` are declared for every pass; a ``#line 1`` after the
preamble keeps GLSL error line numbers equal to the file's line numbers.

Every problem is a :class:`ShaderError` of one line: ``FILE:LINE: what is wrong``.
"""

from __future__ import annotations

import math
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Union

from visualizer.core.errors import GansmaniaError
from visualizer.core.values import BadValue, ValueSpec

if TYPE_CHECKING:
    import moderngl

ParamValue = Union[float, int, bool]

# Names a pass file may not declare itself: the preamble declares them for every pass.
STANDARD_UNIFORMS = ("u_input", "u_prev", "u_resolution", "u_time", "u_beat_phase", "u_tempo",
                     "u_onset", "u_level", "u_bass", "u_mid", "u_high", "u_chroma", "u_harmony")

PREAMBLE = """#version 330
// GANsmania pass preamble: the standard inputs of every pass (visualizer/render/passes.py).
in vec2 v_uv;                // 0..1 across the render target, origin bottom-left
out vec4 f_color;
uniform sampler2D u_input;   // this pass's input: the previous pass, or the generator image
uniform sampler2D u_prev;    // this pass's own output of the previous frame (feedback)
uniform vec2 u_resolution;   // render size, pixels
uniform float u_time;        // seconds since the show started
uniform float u_beat_phase;  // 0..1 through the current beat
uniform float u_tempo;       // 1 while a tempo is known, 0 before (u_beat_phase stays 0 then)
uniform float u_onset;       // onset envelope 0..1 (jumps to 1 on an onset, then decays)
uniform float u_level;       // loudness 0..1
uniform float u_bass;        // band energies 0..1
uniform float u_mid;
uniform float u_high;
uniform float u_chroma[12];  // pitch-class weights 0..1, C = 0
uniform vec2 u_harmony;      // sum of chroma[k] * (cos, sin)(2 pi k / 12): angle = dominant pitch class
const float GM_PI = 3.14159265358979;
float gm_luma(vec3 c) { return dot(c, vec3(0.2126, 0.7152, 0.0722)); }
float gm_hash(vec2 p) { p = fract(p * vec2(443.897, 441.423)); p += dot(p, p.yx + 19.19);
                        return fract((p.x + p.y) * p.x); }
vec2 gm_mirror(vec2 uv) { return 1.0 - abs(mod(uv, 2.0) - 1.0); }  // mirrored-repeat wrap
vec2 gm_aspect() { return vec2(u_resolution.x / u_resolution.y, 1.0); }
#line 1
"""

# One fullscreen triangle from gl_VertexID: no vertex buffer to upload or bind.
VERTEX_SHADER = """#version 330
out vec2 v_uv;
void main() {
    vec2 p = vec2(float((gl_VertexID << 1) & 2), float(gl_VertexID & 2));
    v_uv = p;
    gl_Position = vec4(p * 2.0 - 1.0, 0.0, 1.0);
}
"""

_PARAM_TYPES = {"float": float, "int": int, "bool": bool}  # @param type -> the value's type
GLSL_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_UNIFORM = re.compile(r"^\s*uniform\s+(?:(?:lowp|mediump|highp)\s+)?(\w+)\s+(\w+)"
                      r"\s*(\[[^\]]*\])?\s*(=[^;]*)?;", re.MULTILINE)
_DIRECTIVE = re.compile(r"^\s*//\s*@(\w+)\s*(.*)$")
# Mesa: "0:12(5): error: msg"; NVIDIA: "0(12) : error C0000: msg"; ANGLE/others: "ERROR: 0:12: msg"
_GLSL_ERRORS = (re.compile(r"^\d+:(\d+)\(\d+\):\s*error:\s*(.*)$"),
                re.compile(r"^\d+\((\d+)\)\s*:\s*error\s*(.*)$"),
                re.compile(r"^ERROR:\s*\d+:(\d+):\s*(.*)$"))
_LOG_HEADER = re.compile(r"^(GLSL (Compiler|Linker) failed|\w+_shader|=+)$")  # moderngl's framing


class ShaderError(GansmaniaError):
    """A pass file that does not parse, compile or fit its declared parameters (one line)."""

    def __init__(self, path: Path | str, line: int | None, message: str) -> None:
        self.path = Path(path)
        self.line = line
        self.reason = " ".join(message.split())  # never more than one line
        where = f"{self.path}:{line}" if line else f"{self.path}"
        super().__init__(f"{where}: {self.reason}")


@dataclass(frozen=True)
class ShaderParam:
    """One ``@param`` line: a uniform a preset (or OSC) may set, and what it may be set to."""

    name: str
    spec: ValueSpec  # a bool, or an int or float with both bounds
    line: int  # where it is declared, for error messages


@dataclass(frozen=True)
class TextureSpec:
    """One ``@texture`` line: an extra sampler the caller binds by name (black when unbound)."""

    name: str
    doc: str
    line: int


@dataclass(frozen=True)
class PassSource:
    """A parsed, not yet compiled, pass file. Needs no GL: presets validate against it."""

    name: str  # the file stem: what presets call it
    path: Path
    text: str
    doc: str
    params: tuple[ShaderParam, ...]
    textures: tuple[TextureSpec, ...]
    mipmaps: bool

    def param(self, name: str) -> ShaderParam:
        for param in self.params:
            if param.name == name:
                return param
        raise KeyError(name)

    def defaults(self) -> dict[str, ParamValue]:
        return {param.name: param.spec.default for param in self.params}

    def validate_params(self, params: Mapping[str, object]) -> Mapping[str, ParamValue]:
        """Every parameter's value (defaults filled in), checked; ShaderError names the bad one."""
        known = {param.name for param in self.params}
        for name in params:
            if name not in known:
                allowed = ", ".join(sorted(known)) or "none"
                raise ShaderError(self.path, None,
                                  f"unknown parameter {name!r} for pass {self.name!r}; "
                                  f"its parameters: {allowed}")
        values = self.defaults()
        for name, value in params.items():
            param = self.param(name)
            try:
                values[name] = param.spec.check(value)
            except BadValue as exc:
                raise ShaderError(self.path, param.line,
                                  f"parameter {name!r} of pass {self.name!r} {exc}") from None
        return MappingProxyType(values)


def parse_pass(path: Path, text: str | None = None) -> PassSource:
    """Parse the header of the pass file at ``path`` (``text`` overrides reading it)."""
    path = Path(path)
    if text is None:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ShaderError(path, None, f"cannot read shader pass ({exc})") from None
    doc, params, textures, mipmaps = "", [], [], False
    for number, line in enumerate(text.splitlines(), start=1):
        match = _DIRECTIVE.match(line)
        if not match:
            continue
        directive, rest = match.group(1), match.group(2).strip()
        if directive == "doc":
            doc = f"{doc} {rest.strip(chr(34))}".strip()  # a long @doc may continue on more lines
        elif directive == "param":
            params.append(_parse_param(path, number, rest))
        elif directive == "texture":
            textures.append(_parse_texture(path, number, rest))
        elif directive == "mipmaps":
            mipmaps = True
        else:
            raise ShaderError(path, number, f"unknown directive @{directive}; "
                                            "allowed: @doc, @param, @texture, @mipmaps")
    _check_declarations(path, text, params, textures)
    if "void main" not in text:
        raise ShaderError(path, None, "no `void main()`: a pass writes f_color in main()")
    return PassSource(name=path.stem, path=path, text=text, doc=doc, params=tuple(params),
                      textures=tuple(textures), mipmaps=mipmaps)


_PARAM_USAGE = ('expected `// @param NAME float|int MIN MAX DEFAULT "doc"` '
                'or `// @param NAME bool true|false "doc"`')


def _parse_param(path: Path, number: int, rest: str) -> ShaderParam:
    try:
        fields = shlex.split(rest)
    except ValueError as exc:
        raise ShaderError(path, number, f"bad @param line ({exc}); {_PARAM_USAGE}") from None
    if len(fields) < 2:
        raise ShaderError(path, number, f"bad @param line; {_PARAM_USAGE}")
    name, kind = fields[0], fields[1]
    if not GLSL_NAME.match(name) or name in STANDARD_UNIFORMS or name.startswith("gl_"):
        raise ShaderError(path, number, f"bad @param name {name!r}: must be a GLSL identifier and "
                                        "not a standard uniform")
    if kind not in _PARAM_TYPES:
        raise ShaderError(path, number, f"bad @param type {kind!r} for {name!r}; "
                                        f"allowed: {', '.join(_PARAM_TYPES)}")
    if kind == "bool":
        if len(fields) != 4 or fields[2] not in ("true", "false"):
            raise ShaderError(path, number, f"bad @param line for {name!r}; {_PARAM_USAGE}")
        return ShaderParam(name, ValueSpec(bool, fields[2] == "true", doc=fields[3]), number)
    if len(fields) != 6:
        raise ShaderError(path, number, f"bad @param line for {name!r}; {_PARAM_USAGE}")
    try:
        low, high, default = (float(v) for v in fields[2:5])
    except ValueError:
        raise ShaderError(path, number, f"bad @param numbers for {name!r}: "
                                        f"{' '.join(fields[2:5])!r}; {_PARAM_USAGE}") from None
    if not all(math.isfinite(v) for v in (low, high, default)) or not low <= default <= high:
        raise ShaderError(path, number, f"bad @param range for {name!r}: need MIN <= DEFAULT <= MAX, "
                                        f"got {low:g} {high:g} {default:g}")
    if kind == "int" and not all(v.is_integer() for v in (low, high, default)):
        raise ShaderError(path, number, f"bad @param for int {name!r}: MIN MAX DEFAULT must be whole")
    cast = _PARAM_TYPES[kind]
    return ShaderParam(name, ValueSpec(cast, cast(default), doc=fields[5], min=cast(low), max=cast(high)),
                       number)


def _parse_texture(path: Path, number: int, rest: str) -> TextureSpec:
    fields = shlex.split(rest) if rest else []
    if len(fields) != 2 or not GLSL_NAME.match(fields[0]) or fields[0] in STANDARD_UNIFORMS:
        raise ShaderError(path, number, 'bad @texture line; expected `// @texture NAME "doc"`')
    return TextureSpec(fields[0], fields[1], number)


def _check_declarations(path: Path, text: str, params: list[ShaderParam],
                        textures: list[TextureSpec]) -> None:
    """Header and GLSL agree: each @param/@texture has its uniform and each uniform its header line."""
    # Comments would otherwise count as declarations; blank them keeping line numbers.
    code = re.sub(r"/\*.*?\*/", lambda m: re.sub(r"[^\n]", " ", m.group()), text, flags=re.DOTALL)
    code = re.sub(r"//[^\n]*", "", code)
    declared: dict[str, tuple[str, int]] = {}
    for match in _UNIFORM.finditer(code):
        declared[match.group(2)] = (match.group(1), code.count("\n", 0, match.start()) + 1)
    seen: set[str] = set()
    for entry in [*params, *textures]:
        if entry.name in seen:
            raise ShaderError(path, entry.line, f"{entry.name!r} is declared twice in the header")
        seen.add(entry.name)
        # The @param types (float, int, bool) are GLSL's type names too.
        glsl = "sampler2D" if isinstance(entry, TextureSpec) else entry.spec.kind
        if entry.name not in declared:
            raise ShaderError(path, entry.line, f"missing uniform: the header declares {entry.name!r} "
                                                f"but the shader has no `uniform {glsl} {entry.name};`")
        if declared[entry.name][0] != glsl:
            raise ShaderError(path, declared[entry.name][1],
                              f"uniform {entry.name!r} is {declared[entry.name][0]} in GLSL but "
                              f"{glsl} in its header line {entry.line}")
    for name, (_, line) in declared.items():
        if name in STANDARD_UNIFORMS:
            raise ShaderError(path, line, f"{name!r} is a standard uniform, already declared "
                                          "for every pass; remove this declaration")
        if name not in seen:
            raise ShaderError(path, line, f"uniform {name!r} has no `// @param` or `// @texture` "
                                          "header line, so nothing could set it")


@dataclass(frozen=True, eq=False)
class ShaderPass:
    """A compiled pass: its parsed source plus the GL program and the VAO that draws it."""

    source: PassSource
    program: moderngl.Program
    vao: moderngl.VertexArray
    uses_prev: bool  # u_prev survived compilation: the chain keeps a history texture for it

    @property
    def name(self) -> str:
        return self.source.name

    def release(self) -> None:
        self.vao.release()
        self.program.release()


def compile_pass(ctx: moderngl.Context, source: PassSource) -> ShaderPass:
    """Compile ``source`` against the preamble; a GLSL error becomes a one-line ShaderError."""
    program = compile_program(ctx, PREAMBLE + source.text, path=source.path)
    samplers = ["u_input", "u_prev", *(t.name for t in source.textures)]
    for unit, name in enumerate(samplers):
        if name in program:
            program[name].value = unit
    return ShaderPass(source=source, program=program, vao=ctx.vertex_array(program, []),
                      uses_prev="u_prev" in program)


def load_pass(ctx: moderngl.Context, path: Path) -> ShaderPass:
    """Parse and compile the pass file at ``path``."""
    return compile_pass(ctx, parse_pass(path))


def compile_program(ctx: moderngl.Context, fragment_shader: str, *, path: Path | str) -> moderngl.Program:
    """A program of :data:`VERTEX_SHADER` and ``fragment_shader``; errors name ``path`` and the line."""
    import moderngl

    try:
        return ctx.program(vertex_shader=VERTEX_SHADER, fragment_shader=fragment_shader)
    except moderngl.Error as exc:
        line, message = glsl_error(str(exc))
        raise ShaderError(path, line, f"GLSL: {message}") from None


def glsl_error(log: str) -> tuple[int | None, str]:
    """The first error of a GLSL compiler/linker log: (line, message)."""
    lines = [line.strip() for line in log.splitlines() if line.strip()]
    for line in lines:
        for pattern in _GLSL_ERRORS:
            match = pattern.match(line)
            if match:
                return int(match.group(1)), match.group(2).strip()
    # Linker errors and unknown formats carry no line: keep the first informative line.
    informative = [line for line in lines if not _LOG_HEADER.match(line)]
    return None, (informative or lines or ["unknown GLSL error"])[0]

