// @doc The generator image as it is: the empty look, and the reference for every other pass.
void main() {
    f_color = vec4(texture(u_input, v_uv).rgb, 1.0);
}
