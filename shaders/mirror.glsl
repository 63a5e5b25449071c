// @doc Mirror and tiling: left/right or top/bottom symmetry, four-way, or a grid of mirrored tiles.
// @param mode int 0 3 0 "0 = left mirrored onto right, 1 = bottom onto top, 2 = both, 3 = tiles"
// @param tiles float 1.0 8.0 2.0 "tiles across (mode 3)"
// @param scroll float -1.0 1.0 0.0 "tile scroll speed (tiles per second, mode 3)"
// @param bass_zoom float 0.0 1.0 0.0 "tiles shrink with the bass (mode 3)"
uniform int mode;
uniform float tiles;
uniform float scroll;
uniform float bass_zoom;

void main() {
    vec2 uv = v_uv;
    if (mode == 0 || mode == 2) uv.x = 0.5 - abs(uv.x - 0.5);
    if (mode == 1 || mode == 2) uv.y = 0.5 - abs(uv.y - 0.5);
    if (mode == 3) {
        vec2 count = vec2(tiles, tiles / gm_aspect().x) * (1.0 + bass_zoom * u_bass);
        uv = gm_mirror((uv - 0.5) * count + 0.5 + vec2(scroll * u_time, 0.0));
    }
    f_color = vec4(texture(u_input, uv).rgb, 1.0);
}
