"""Generator images in the forms backends produce -> the uint8 RGB array the uploader takes."""

from __future__ import annotations

from typing import Any

import numpy as np


def to_rgb8(image: Any) -> np.ndarray:
    """``image`` as a C-contiguous uint8 array of shape (H, W, 3), top row first.

    Takes a uint8 numpy array (H, W, 3), or a float torch tensor in NVlabs range [-1, 1] shaped
    (1, 3, H, W) or (3, H, W) on any device (converted where it lives, so a CUDA tensor crosses
    to the CPU as bytes, not floats).
    """
    if isinstance(image, np.ndarray):
        if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
            raise ValueError(f"expected a uint8 array of shape (H, W, 3), got {image.dtype} {image.shape}")
        return np.ascontiguousarray(image)
    if type(image).__module__.startswith("torch"):
        return torch_to_rgb8(image)
    raise TypeError(f"expected a numpy uint8 (H, W, 3) array or a torch tensor, got {type(image).__name__}")


def torch_to_rgb8(tensor: Any) -> np.ndarray:
    """A float tensor in [-1, 1], (1, 3, H, W) or (3, H, W) -> uint8 (H, W, 3), NVlabs rounding."""
    import torch

    if tensor.ndim == 4:
        if tensor.shape[0] != 1:
            raise ValueError(f"expected one image (batch of 1), got shape {tuple(tensor.shape)}")
        tensor = tensor[0]
    if tensor.ndim != 3 or tensor.shape[0] != 3 or not tensor.is_floating_point():
        raise ValueError(f"expected a float tensor (3, H, W) or (1, 3, H, W), got "
                         f"{tensor.dtype} {tuple(tensor.shape)}")
    with torch.no_grad():
        if tensor.device.type != "cpu":
            # Convert where the tensor lives so 1 byte per value crosses to the host, not 4.
            pixels = tensor.mul(127.5).add_(128.0).clamp_(0.0, 255.0).to(torch.uint8)
            return pixels.permute(1, 2, 0).contiguous().cpu().numpy()
        chw = tensor.detach().float().numpy()
    # numpy, single-threaded, on purpose: torch's intra-op pool would contend with the
    # generator's own threads on a 2-core machine for a job this small (~0.2 MB at 256x256).
    return float_chw_to_rgb8(chw)


def float_chw_to_rgb8(chw: np.ndarray) -> np.ndarray:
    """A float32 array (3, H, W) in [-1, 1] -> uint8 (H, W, 3), NVlabs' mapping x * 127.5 + 128
    (the same as ``training.generate.to_uint8``)."""
    hwc = np.empty((chw.shape[1], chw.shape[2], 3), dtype=np.float32)
    np.multiply(chw.transpose(1, 2, 0), np.float32(127.5), out=hwc)
    hwc += np.float32(128.0)
    np.clip(hwc, 0.0, 255.0, out=hwc)
    return hwc.astype(np.uint8)
