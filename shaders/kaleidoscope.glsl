// @doc Kaleidoscope: the picture folded into mirrored wedges around the centre, spinning with the beat.
// @param segments int 2 24 6 "number of wedges (the output repeats every 360/segments degrees)"
// @param spin float -2.0 2.0 0.1 "rotation of the source under the wedges (radians per second)"
// @param beat_spin float -1.0 1.0 0.0 "extra turn per beat, eased through the beat (radians)"
// @param zoom float 0.25 4.0 1.0 "zoom into the source"
// @param offset float 0.0 0.5 0.0 "distance of the source centre from the picture centre"
uniform int segments;
uniform float spin;
uniform float beat_spin;
uniform float zoom;
uniform float offset;

void main() {
    vec2 p = (v_uv - 0.5) * u_resolution / u_resolution.y;   // square units around the centre
    float wedge = 2.0 * GM_PI / float(segments);
    float angle = mod(atan(p.y, p.x), wedge);
    angle = abs(angle - 0.5 * wedge);                          // mirror inside each wedge: seamless
    vec2 q = vec2(cos(angle), sin(angle)) * length(p) / zoom;
    float turn = spin * u_time + beat_spin * smoothstep(0.0, 1.0, u_beat_phase);
    float c = cos(turn), s = sin(turn);
    q = mat2(c, s, -s, c) * (q + vec2(offset, 0.0));
    f_color = vec4(texture(u_input, gm_mirror(q + 0.5)).rgb, 1.0);
}
