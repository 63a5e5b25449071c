"""The moderngl pipeline: upload, shader chain, HUD, and the window (glfw) or headless (EGL) output.

- ``output``: the Output protocol, HeadlessOutput (EGL + offscreen framebuffer), open_output()
- ``window``: WindowOutput (glfw: windowed/fullscreen, vsync, resize, key names)
- ``clean``: CleanWindow — the performer view's second window: the audience's picture, no HUD
- ``renderer``: Renderer — submit frames, set/transition chains, render + present, stamps
- ``passes``: the ``shaders/NAME.glsl`` format, its parser and compiler (ShaderError: one line)
- ``library``: ShaderLibrary — passes by name, compiled once, recompiled when the file changes
- ``chain``: ShaderChain — ordered passes with ping-pong framebuffers and per-pass feedback
- ``source``, ``upload``, ``frames``: generator frames -> PBO -> blend -> upscale
- ``hud``: the HUD overlay; ``uniforms``: AudioUniforms
- ``monitors``: the connected monitors (glfw)
"""
