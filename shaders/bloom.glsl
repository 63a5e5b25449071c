// @doc Bloom/glow: bright parts bleed light around them, more with loudness. Wide and cheap
// @doc through the input's mipmaps (three blur sizes from three taps).
// @mipmaps
// @param threshold float 0.0 1.0 0.6 "brightness above which light blooms"
// @param intensity float 0.0 4.0 0.6 "glow strength"
// @param radius float 1.0 6.0 3.0 "blur size (mip level: each step doubles it)"
// @param level_boost float 0.0 4.0 0.5 "extra glow at full loudness (x intensity)"
uniform float threshold;
uniform float intensity;
uniform float radius;
uniform float level_boost;

void main() {
    vec3 colour = texture(u_input, v_uv).rgb;
    // Each blur size is thresholded on its own, so a small bright spot still glows around it
    // (thresholding the summed blur would cut its wide, dimmer halo off).
    vec3 glow = vec3(0.0);
    float weights[3] = float[3](0.45, 0.33, 0.22);
    for (int i = 0; i < 3; i++) {
        vec3 blur = textureLod(u_input, v_uv, radius + float(i)).rgb;
        glow += weights[i] * max(blur - threshold, 0.0);
    }
    glow /= max(1.0 - threshold, 1e-3);
    float strength = intensity * (1.0 + level_boost * u_level);
    f_color = vec4(colour + glow * strength * (1.0 - colour * 0.5), 1.0);
}
