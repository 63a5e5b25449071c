"""Mapping: audio features -> latents, noise and shader uniforms (LatentController, FxController)."""
