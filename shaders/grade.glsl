// @doc Colour grade: hue turned by the harmony (chroma), contrast, saturation and exposure.
// @param hue float -180.0 180.0 0.0 "fixed hue rotation (degrees)"
// @param chroma_hue float 0.0 1.0 0.0 "hue follows the dominant pitch class (1 = a turn per octave)"
// @param contrast float 0.0 3.0 1.0 "contrast around mid grey"
// @param saturation float 0.0 3.0 1.0 "0 = grey, 1 = as is"
// @param exposure float -2.0 2.0 0.0 "brightness in stops"
// @param level_saturation float 0.0 2.0 0.0 "extra saturation at full loudness"
uniform float hue;
uniform float chroma_hue;
uniform float contrast;
uniform float saturation;
uniform float exposure;
uniform float level_saturation;

vec3 rotate_hue(vec3 c, float radians) {
    // Rotation about the grey axis (keeps luma roughly, no HSV branches).
    vec3 k = vec3(0.57735);
    float cosa = cos(radians);
    return c * cosa + cross(k, c) * sin(radians) + k * dot(k, c) * (1.0 - cosa);
}

void main() {
    vec3 colour = texture(u_input, v_uv).rgb * exp2(exposure);
    // u_harmony is the chroma vector on the pitch-class circle: its angle names the dominant
    // pitch class (0 for C), smoothly and causally; silence leaves the hue alone.
    float harmony = length(u_harmony) > 1e-4 ? atan(u_harmony.y, u_harmony.x) : 0.0;
    float turn = radians(hue) + chroma_hue * harmony;
    if (turn != 0.0) {  // uniform branch: llvmpipe skips it for the whole frame when off
        colour = rotate_hue(colour, turn);
    }
    float grey = gm_luma(colour);
    colour = mix(vec3(grey), colour, saturation + level_saturation * u_level);
    colour = (colour - 0.5) * contrast + 0.5;
    f_color = vec4(clamp(colour, 0.0, 1.0), 1.0);
}
