// @doc Strobe locked to the beat: the picture blinks to white (or inverts) on a beat subdivision.
// @doc It holds still while no tempo is known (there is no beat to lock to).
// @param rate float 0.25 8.0 1.0 "flashes per beat"
// @param duty float 0.02 0.9 0.15 "lit fraction of each flash period"
// @param amount float 0.0 1.0 0.0 "strobe strength (0 = off: ride it from a fader)"
// @param invert bool false "invert colours instead of flashing white"
// @param onset_gate float 0.0 1.0 0.0 "1 = strobe only while the onset envelope is high"
uniform float rate;
uniform float duty;
uniform float amount;
uniform bool invert;
uniform float onset_gate;

void main() {
    vec3 colour = texture(u_input, v_uv).rgb;
    // Without a tempo the phase sits at 0, inside the duty window: the strobe would stay lit.
    float lit = step(fract(u_beat_phase * rate), duty) * u_tempo;
    float strength = amount * lit * mix(1.0, u_onset, onset_gate);
    vec3 flash = invert ? 1.0 - colour : vec3(1.0);
    f_color = vec4(mix(colour, flash, strength), 1.0);
}
