"""Generator backends behind one protocol: torch, onnxruntime, tensorrt (see ``base``)."""
