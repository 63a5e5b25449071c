"""GANsmania visualizer: audio in, features out, latents walk, a generator paints, OpenGL shows it."""

__version__ = "0.1.0"
