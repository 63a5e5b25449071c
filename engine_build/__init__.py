"""ONNX export of the generator, TensorRT engine builds, and the engine cache."""
