"""Audio sources (live device, file in real time) and the streaming feature extractor."""
