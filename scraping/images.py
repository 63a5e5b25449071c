"""What a downloaded file is: decoded, measured and hashed, or rejected with the reason."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import imagehash
from PIL import Image, ImageStat, UnidentifiedImageError

# Pillow's names for formats, as file suffixes of the stored copies.
SUFFIXES = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "GIF": "gif", "TIFF": "tif",
            "BMP": "bmp", "JPEG2000": "jp2", "MPO": "jpg"}
# Decoding is done at a reduced scale where the codec can (JPEG): the hash only needs 32x32 and
# the whole stream is still decoded, so truncation is still detected.
_HASH_DRAFT_PX = 256


@dataclass(frozen=True)
class ImageFacts:
    """A decodable image: pixel size, format, perceptual hash (16 hex) and mean colour (6 hex)."""

    width: int
    height: int
    format: str
    phash: str
    colour: str

    @property
    def suffix(self) -> str:
        return SUFFIXES.get(self.format, self.format.lower())


@dataclass(frozen=True)
class Rejection:
    """Why a payload is not kept: a manifest status and a reason in words."""

    status: str
    reason: str


def inspect_image(path: Path, *, min_size_px: int, content_type: str = "") -> ImageFacts | Rejection:
    """Decode the file at ``path`` fully and describe it, or say why it is rejected."""
    said = f" (served as {content_type})" if content_type else ""
    try:
        with warnings.catch_warnings():
            # A huge image is a warning in Pillow; only a real decompression bomb is an error.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                width, height, fmt = image.width, image.height, image.format or "unknown"
                if min(width, height) < min_size_px:
                    return Rejection("too_small", f"{width}x{height} px; the shorter side is under "
                                                  f"{min_size_px} px")
                image.draft("RGB", (_HASH_DRAFT_PX, _HASH_DRAFT_PX))
                image.load()
                rgb = image.convert("RGB")
    except UnidentifiedImageError:
        return Rejection("not_image", f"not an image{said}")
    except Image.DecompressionBombError as exc:
        return Rejection("corrupt", f"refused to decode: {exc}")
    except (OSError, SyntaxError, ValueError) as exc:
        return Rejection("corrupt", f"{fmt} that does not decode: {exc}")
    mean = ImageStat.Stat(rgb).mean
    colour = "".join(f"{round(c):02x}" for c in mean[:3])
    return ImageFacts(width=width, height=height, format=fmt, phash=str(imagehash.phash(rgb)),
                      colour=colour)
