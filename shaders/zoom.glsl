// @doc Zoom and warp that pulse with the music: onsets punch in, bass ripples, beats twist.
// @param zoom float 0.5 4.0 1.0 "resting zoom (1 = the whole picture)"
// @param pulse float 0.0 1.0 0.15 "extra zoom at an onset (fraction), decaying with the onset envelope"
// @param ripple float 0.0 0.2 0.02 "radial ripple amplitude driven by the bass"
// @param ripple_freq float 1.0 40.0 12.0 "ripple rings across the picture"
// @param twist float -3.14 3.14 0.0 "rotation (radians) at the start of each beat, easing out"
// @param drift float -1.0 1.0 0.0 "slow constant rotation (radians per second)"
uniform float zoom;
uniform float pulse;
uniform float ripple;
uniform float ripple_freq;
uniform float twist;
uniform float drift;

void main() {
    vec2 aspect = gm_aspect();
    vec2 p = (v_uv - 0.5) * aspect;          // square units, so rotation does not shear
    float r = length(p);
    float scale = zoom * (1.0 + pulse * u_onset);
    p /= scale;
    // Uniform branches: on llvmpipe a switched-off effect then costs nothing per pixel.
    if (ripple * u_bass > 0.0) {
        p *= 1.0 + ripple * u_bass * sin(r * ripple_freq * 2.0 * GM_PI - u_time * 4.0);
    }
    float beat = 1.0 - u_beat_phase;
    float angle = drift * u_time + twist * beat * beat;
    if (angle != 0.0) {
        float c = cos(angle), s = sin(angle);
        p = mat2(c, s, -s, c) * p;
    }
    vec2 uv = gm_mirror(p / aspect + 0.5);   // zooming out shows mirrored copies, not smeared edges
    f_color = vec4(texture(u_input, uv).rgb, 1.0);
}
