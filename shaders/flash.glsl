// @doc Beat flash: the picture brightens towards a colour on onsets and on each beat.
// @param amount float 0.0 1.0 0.5 "how far an onset pushes the picture to the flash colour"
// @param on_beat float 0.0 1.0 0.0 "flash on every beat as well (strength at the downbeat; none without a tempo)"
// @param sharpness float 1.0 16.0 6.0 "how fast the beat flash decays through the beat"
// @param hue float 0.0 1.0 0.0 "flash colour hue (0 red .. 1 red again)"
// @param whiteness float 0.0 1.0 1.0 "1 = white flash, 0 = pure hue"
uniform float amount;
uniform float on_beat;
uniform float sharpness;
uniform float hue;
uniform float whiteness;

vec3 hue_colour(float h) {
    return clamp(abs(mod(h * 6.0 + vec3(0.0, 4.0, 2.0), 6.0) - 3.0) - 1.0, 0.0, 1.0);
}

void main() {
    vec3 colour = texture(u_input, v_uv).rgb;
    // Without a tempo the phase sits at 0: the beat flash would hold at full strength.
    float beat = on_beat * u_tempo * pow(1.0 - u_beat_phase, sharpness);
    float strength = clamp(amount * u_onset + beat, 0.0, 1.0);
    vec3 tint = mix(hue_colour(hue), vec3(1.0), whiteness);
    f_color = vec4(mix(colour, max(colour, tint), strength), 1.0);
}
