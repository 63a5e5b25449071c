// @doc Feedback trails: the last frame, slightly zoomed and turned, fades under the new one.
// @param decay float 0.0 0.99 0.85 "how much of the trail survives each frame"
// @param zoom float 0.9 1.1 1.01 "trail zoom per frame (>1 streams outwards)"
// @param rotate float -0.1 0.1 0.0 "trail rotation per frame (radians)"
// @param onset_clear float 0.0 1.0 0.3 "how much an onset wipes the trail"
// @param mode int 0 1 0 "0 = lighter of trail and picture, 1 = trail added on top"
uniform float decay;
uniform float zoom;
uniform float rotate;
uniform float onset_clear;
uniform int mode;

void main() {
    vec3 colour = texture(u_input, v_uv).rgb;
    vec2 aspect = gm_aspect();
    vec2 p = (v_uv - 0.5) * aspect / zoom;
    float c = cos(rotate), s = sin(rotate);
    vec2 uv = (mat2(c, s, -s, c) * p) / aspect + 0.5;
    float keep = decay * (1.0 - onset_clear * u_onset);
    // The 1/255 floor makes 8-bit trails reach black instead of sticking at a faint level.
    vec3 trail = max(texture(u_prev, uv).rgb * keep - 1.0 / 255.0, 0.0);
    vec3 result = mode == 0 ? max(colour, trail) : min(colour + trail * 0.5, 1.0);
    f_color = vec4(result, 1.0);
}
