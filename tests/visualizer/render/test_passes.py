"""The pass file format: header parsing, declaration checks, GLSL errors as one line."""

from __future__ import annotations

import pytest

from visualizer.render.passes import ShaderError, glsl_error, load_pass, parse_pass

GOOD = """// @doc Tints the picture.
// @param amount float 0.0 1.0 0.25 "how strong"
// @param steps int 1 8 2 "how many"
// @param invert bool false "swap light and dark"
uniform float amount;
uniform int steps;
uniform bool invert;
void main() {
    vec3 c = texture(u_input, v_uv).rgb * amount * float(steps);
    f_color = vec4(invert ? 1.0 - c : c, 1.0);
}
"""


def write(tmp_path, text: str, name: str = "tint"):
    path = tmp_path / f"{name}.glsl"
    path.write_text(text)
    return path


def error_of(call) -> ShaderError:
    with pytest.raises(ShaderError) as caught:
        call()
    message = str(caught.value)
    assert "\n" not in message, message
    return caught.value


def test_header_is_parsed(tmp_path):
    source = parse_pass(write(tmp_path, GOOD))
    assert source.name == "tint"
    assert source.doc == "Tints the picture."
    assert [(p.name, p.spec.kind, p.spec.min, p.spec.max, p.spec.default) for p in source.params] == [
        ("amount", "float", 0.0, 1.0, 0.25), ("steps", "int", 1, 8, 2), ("invert", "bool", None, None, False)]
    assert source.param("amount").spec.doc == "how strong"
    assert source.param("steps").line == 3


def test_parameters_are_validated_and_defaulted(tmp_path):
    source = parse_pass(write(tmp_path, GOOD))
    assert dict(source.validate_params({"amount": 0.5})) == {"amount": 0.5, "steps": 2, "invert": False}
    error = error_of(lambda: source.validate_params({"amout": 0.5}))
    assert "unknown parameter 'amout'" in str(error) and "amount, invert, steps" in str(error)
    error = error_of(lambda: source.validate_params({"amount": 3}))
    assert f"{tmp_path / 'tint.glsl'}:2:" in str(error) and "out of range; allowed a number 0..1" in str(error)
    assert "whole number" in str(error_of(lambda: source.validate_params({"steps": 2.5})))
    assert "true or false" in str(error_of(lambda: source.validate_params({"invert": 1})))
    assert "has the wrong type" in str(error_of(lambda: source.validate_params({"amount": "x"})))


def test_glsl_syntax_error_names_file_line_and_message(egl_context, tmp_path):
    broken = GOOD.replace("f_color = vec4(invert ? 1.0 - c : c, 1.0);", "f_color = vec4(c, 1.0)")
    path = write(tmp_path, broken)
    error = error_of(lambda: load_pass(egl_context, path))
    assert str(error).startswith(f"{path}:11: GLSL: ")  # the closing brace after the missing ';'
    assert "syntax error" in str(error)
    assert error.line == 11


def test_undeclared_identifier_names_its_line(egl_context, tmp_path):
    path = write(tmp_path, GOOD.replace("* amount *", "* amuont *"))
    error = error_of(lambda: load_pass(egl_context, path))
    assert error.line == 9 and "amuont" in str(error)


@pytest.mark.parametrize("line, expected", [
    ('// @param amount float 0.0 1.0 "how strong"', "bad @param line for 'amount'"),
    ('// @param amount float 0.0 1.0 2.0 "how strong"', "need MIN <= DEFAULT <= MAX"),
    ('// @param amount float zero 1.0 0.5 "how strong"', "bad @param numbers"),
    ('// @param amount vec3 0.0 1.0 0.5 "how strong"', "bad @param type 'vec3'"),
    ('// @param amount float 0.0 1.0 0.5 "unclosed', "bad @param line (No closing quotation)"),
    ('// @param u_time float 0.0 1.0 0.5 "clash"', "not a standard uniform"),
    ('// @parameter amount float 0.0 1.0 0.5 "typo"', "unknown directive @parameter"),
])
def test_bad_header_line_is_one_line_error(tmp_path, line, expected):
    path = write(tmp_path, GOOD.replace('// @param amount float 0.0 1.0 0.25 "how strong"', line))
    error = error_of(lambda: parse_pass(path))
    assert error.line == 2, str(error)
    assert expected in str(error)


def test_declared_parameter_without_its_uniform_is_an_error(tmp_path):
    path = write(tmp_path, GOOD.replace("uniform float amount;\n", "").replace("* amount *", "*"))
    error = error_of(lambda: parse_pass(path))
    assert error.line == 2
    assert "missing uniform" in str(error) and "uniform float amount;" in str(error)


def test_uniform_without_header_line_is_an_error(tmp_path):
    extra = GOOD.replace("uniform bool invert;", "uniform bool invert;\nuniform float secret;")
    path = write(tmp_path, extra)
    error = error_of(lambda: parse_pass(path))
    assert error.line == 8 and "'secret' has no `// @param`" in str(error)


def test_type_mismatch_and_redeclared_standard_uniform(tmp_path):
    retyped = GOOD.replace("uniform int steps;", "uniform float steps;")
    error = error_of(lambda: parse_pass(write(tmp_path, retyped)))
    assert "is float in GLSL but int" in str(error)
    clash = GOOD.replace("uniform bool invert;", "uniform bool invert;\nuniform float u_time;")
    error = error_of(lambda: parse_pass(write(tmp_path, clash)))
    assert "'u_time' is a standard uniform" in str(error)


def test_commented_out_uniform_does_not_count(tmp_path):
    text = GOOD.replace("uniform float amount;", "// uniform float amount;\n/* uniform float amount; */")
    error = error_of(lambda: parse_pass(write(tmp_path, text.replace("* amount *", "*"))))
    assert "missing uniform" in str(error)


def test_missing_file_is_one_line(tmp_path):
    error = error_of(lambda: parse_pass(tmp_path / "nope.glsl"))
    assert "cannot read shader pass" in str(error)


def test_compiled_pass_knows_whether_it_reads_the_previous_frame(egl_context, tmp_path):
    plain = load_pass(egl_context, write(tmp_path, GOOD))
    feedback = load_pass(egl_context, write(tmp_path, GOOD.replace(
        "f_color = vec4(invert ? 1.0 - c : c, 1.0);",
        "f_color = vec4(max(invert ? 1.0 - c : c, texture(u_prev, v_uv).rgb), 1.0);"), name="trail"))
    assert not plain.uses_prev and feedback.uses_prev


@pytest.mark.parametrize("log, expected", [
    ("GLSL Compiler failed\n\nfragment_shader\n===============\n"
     "0:4(1): error: syntax error, unexpected '}'\n", (4, "syntax error, unexpected '}'")),
    ("0(17) : error C1008: undefined variable \"foo\"", (17, 'C1008: undefined variable "foo"')),
    ("ERROR: 0:3: 'x' : undeclared identifier", (3, "'x' : undeclared identifier")),
    ("GLSL Linker failed\n\nerror: fragment shader lacks `main'\n",
     (None, "error: fragment shader lacks `main'")),
])
def test_glsl_logs_of_different_drivers(log, expected):
    assert glsl_error(log) == expected
