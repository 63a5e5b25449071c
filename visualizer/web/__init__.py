"""The web side of the show: the remote (`gansmania live --web`), one more control surface
next to OSC and MIDI, served by an ASGI app (Starlette on uvicorn) in the show's process, off
the render thread. Its page and assets ship in ``static/`` (no CDN: venues are often offline)."""
