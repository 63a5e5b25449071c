"""NDI: the show's picture and sound out to the rest of a VJ rig (Resolume, OBS, TouchDesigner,
vMix) on the LAN, and other NDI sources in as textures; through ndi-python (the `[ndi]` extra),
whose wheel ships the NDI runtime."""
