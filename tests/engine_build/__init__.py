"""Tests of engine_build: ONNX export, engine cache, TensorRT builds, CLI."""
