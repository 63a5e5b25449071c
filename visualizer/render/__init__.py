"""The moderngl pipeline: upload, shader chain, HUD, and the window (glfw) or headless (EGL) output."""
