// @doc Film grain: animated noise, stronger in the highs, lighter in bright parts.
// @param amount float 0.0 0.5 0.06 "grain strength"
// @param size float 1.0 8.0 1.5 "grain size in pixels"
// @param high_boost float 0.0 4.0 1.0 "grain multiplier at full high-band energy"
// @param colour float 0.0 1.0 0.2 "0 = grey grain, 1 = independent per channel"
uniform float amount;
uniform float size;
uniform float high_boost;
uniform float colour;

void main() {
    vec3 c = texture(u_input, v_uv).rgb;
    vec2 cell = floor(gl_FragCoord.xy / size);
    float frame = floor(u_time * 24.0);  // film rate: grain that boils at 24 fps reads as film
    vec3 noise = vec3(gm_hash(cell + frame * 17.0), gm_hash(cell + frame * 17.0 + 101.0),
                      gm_hash(cell + frame * 17.0 + 211.0)) - 0.5;
    noise = mix(vec3(noise.r), noise, colour);
    float strength = amount * (1.0 + high_boost * u_high) * (1.0 - 0.6 * gm_luma(c));
    f_color = vec4(clamp(c + noise * strength * 2.0, 0.0, 1.0), 1.0);
}
