// @doc Mixes a video input (an NDI source: `live --ndi-in NAME`) with the picture: over it, added,
// @doc multiplied, screened, luma-keyed, or under the picture's dark parts; fitted by its own
// @doc aspect ratio. With no input it reads transparent, so the picture shows as it is.
// @texture u_video "the video input (live --ndi-in); transparent black while none is bound"
// @param amount float 0.0 1.0 1.0 "how much of the input shows: 0 = the picture alone"
// @param mode int 0 5 0 "0 = over (by the input's alpha), 1 = add, 2 = multiply, 3 = screen, 4 = luma key (the input's dark parts keyed out), 5 = under (the input shows through the picture's dark parts)"
// @param fit int 0 2 0 "0 = fit (all of the input; the picture around it), 1 = fill (cropped to cover), 2 = stretch"
// @param threshold float 0.0 1.0 0.25 "luma key and under: the brightness where the key turns"
// @param softness float 0.01 1.0 0.15 "luma key and under: width of the key's edge"
// @param flip bool false "mirror the input left-right (a camera facing the stage)"
uniform sampler2D u_video;
uniform float amount;
uniform int mode;
uniform int fit;
uniform float threshold;
uniform float softness;
uniform bool flip;

// Per axis, how much of the input the output spans (the generator picture's fit, render/source.py).
vec2 input_scale(vec2 size) {
    float image = size.x / size.y;
    float screen = u_resolution.x / u_resolution.y;
    if (fit == 2 || image == screen) return vec2(1.0);
    bool wider = screen > image;
    if (fit == 1) return wider ? vec2(1.0, image / screen) : vec2(screen / image, 1.0);
    return wider ? vec2(screen / image, 1.0) : vec2(1.0, image / screen);
}

void main() {
    vec3 picture = texture(u_input, v_uv).rgb;
    // Inputs are stored top row first, as they arrive (Renderer.set_input): flip y here, once.
    vec2 uv = (vec2(v_uv.x, 1.0 - v_uv.y) - 0.5) * input_scale(vec2(textureSize(u_video, 0))) + 0.5;
    if (flip) uv.x = 1.0 - uv.x;
    bool inside = all(greaterThanEqual(uv, vec2(0.0))) && all(lessThanEqual(uv, vec2(1.0)));
    vec4 video = inside ? texture(u_video, uv) : vec4(0.0);  // beside a fitted input: transparent
    // Every mode is weighted by the input's alpha: an input that is not there changes nothing.
    float weight = amount * video.a;
    vec3 blended = video.rgb;
    if (mode == 1) {
        blended = min(picture + video.rgb, 1.0);
    } else if (mode == 2) {
        blended = picture * video.rgb;
    } else if (mode == 3) {
        blended = 1.0 - (1.0 - picture) * (1.0 - video.rgb);
    } else if (mode == 4) {
        weight *= smoothstep(threshold, threshold + softness, gm_luma(video.rgb));
    } else if (mode == 5) {
        weight *= 1.0 - smoothstep(threshold, threshold + softness, gm_luma(picture));
    }
    f_color = vec4(mix(picture, blended, weight), 1.0);
}
