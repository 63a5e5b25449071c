"""Control: the ParamStore, the latent controller (features -> latents/noise/FX), OSC, MIDI, Link."""
