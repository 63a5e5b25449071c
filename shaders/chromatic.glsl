// @doc Chromatic aberration: red and blue pulled apart towards the edges, wider on onsets.
// @param amount float 0.0 0.05 0.004 "channel split at the edges (fraction of the height)"
// @param onset_boost float 0.0 10.0 3.0 "split multiplier at an onset"
// @param radial bool true "split outward from the centre (false = sideways)"
uniform float amount;
uniform float onset_boost;
uniform bool radial;

void main() {
    vec2 aspect = gm_aspect();
    vec2 d = radial ? (v_uv - 0.5) * 2.0 : vec2(1.0 / aspect.x, 0.0);
    vec2 shift = d * amount * (1.0 + onset_boost * u_onset);
    float r = texture(u_input, v_uv + shift).r;
    float g = texture(u_input, v_uv).g;
    float b = texture(u_input, v_uv - shift).b;
    f_color = vec4(r, g, b, 1.0);
}
