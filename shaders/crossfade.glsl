// @doc Crossfade between two looks (preset switching): plain mix, luma wipe, or a dip to black.
// @texture u_to "the look being faded to; u_input is the look being left"
// @param progress float 0.0 1.0 0.0 "0 = the old look, 1 = the new look"
// @param mode int 0 2 0 "0 = mix, 1 = luma wipe (bright parts of the new look first), 2 = dip through black"
// @param softness float 0.01 1.0 0.2 "edge width of the luma wipe"
uniform sampler2D u_to;
uniform float progress;
uniform int mode;
uniform float softness;

void main() {
    vec3 a = texture(u_input, v_uv).rgb;
    vec3 b = texture(u_to, v_uv).rgb;
    vec3 result;
    if (mode == 1) {
        // The threshold sweeps from above white (all old) to below black (all new).
        float threshold = 1.0 - progress * (1.0 + softness);
        result = mix(a, b, smoothstep(threshold, threshold + softness, gm_luma(b)));
    } else if (mode == 2) {
        result = progress < 0.5 ? a * (1.0 - 2.0 * progress) : b * (2.0 * progress - 1.0);
    } else {
        result = mix(a, b, progress);
    }
    f_color = vec4(result, 1.0);
}
