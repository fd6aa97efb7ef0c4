"""What an upload is, judged from its bytes alone, and the images Parley makes from it.

The client's content type and file extension are never trusted: raster images are
recognised by Pillow actually reading their header, anything else by its magic
numbers (puremagic). Only the four raster formats every browser shows without
running anything are served inline (``SAFE_IMAGES``); all else is a download.

Images are re-encoded without their metadata (EXIF can hold where a photo was
taken), and their pixel count is bounded before anything is decoded, so a small
file that expands to gigabytes of pixels (a decompression bomb) is never decoded:
it is kept as a plain download instead.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

import puremagic
from PIL import Image, ImageOps, UnidentifiedImageError

SAFE_IMAGES = {
    "PNG": "image/png",
    "JPEG": "image/jpeg",
    "GIF": "image/gif",
    "WEBP": "image/webp",
}
"""Pillow format name → content type of the images shown inline."""
MAX_IMAGE_PIXELS = 40_000_000
"""Beyond this (e.g. 8000 x 5000) an image is not decoded, only offered as a download."""
THUMBNAIL_PIXELS = 480
"""The longer side of a thumbnail."""
AVATAR_PIXELS = 256
"""Avatars are this square."""
THUMBNAIL_TYPE = "image/webp"
OCTET_STREAM = "application/octet-stream"

# ``_open`` checks the pixel count against MAX_IMAGE_PIXELS before anything is decoded;
# Pillow's own, looser check would only warn on the way.
warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)


class NotAnImage(ValueError):
    """An avatar that is not a safe raster image of a sane size."""


@dataclass(frozen=True, slots=True)
class Inspected:
    content_type: str
    data: bytes
    """What to store: the upload, or an image re-encoded without its metadata."""
    width: int | None = None
    height: int | None = None
    thumbnail: bytes | None = None
    """A WebP of at most ``THUMBNAIL_PIXELS`` a side, for images."""


def sniff(data: bytes) -> str:
    """The content type the bytes show, ``text/plain`` for UTF-8 text, else octet-stream."""
    try:
        found = puremagic.from_string(data, mime=True)
    except (puremagic.PureError, ValueError):
        found = ""
    if found:
        return str(found)
    try:
        data[:4096].decode("utf-8")
    except UnicodeDecodeError:
        return OCTET_STREAM
    return "text/plain" if data else OCTET_STREAM


def _open(data: bytes) -> Image.Image | None:
    """The image, if the bytes are one of ``SAFE_IMAGES`` within ``MAX_IMAGE_PIXELS``."""
    try:
        image = Image.open(io.BytesIO(data))
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        return None
    width, height = image.size
    if image.format not in SAFE_IMAGES or width * height > MAX_IMAGE_PIXELS or not width:
        return None
    return image


def inspect(data: bytes) -> Inspected:
    """Blocking (Pillow decodes): call it in a thread."""
    image = _open(data)
    if image is None:
        return Inspected(sniff(data), data)
    try:
        image.load()
        upright = ImageOps.exif_transpose(image)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return Inspected(OCTET_STREAM, data)
    fmt = image.format or "PNG"
    animated = bool(getattr(image, "is_animated", False))
    stored = data if animated or fmt == "GIF" else _encode(upright, fmt)
    thumbnail = upright.copy()
    thumbnail.thumbnail((THUMBNAIL_PIXELS, THUMBNAIL_PIXELS))
    return Inspected(
        SAFE_IMAGES[fmt],
        stored,
        upright.width,
        upright.height,
        _encode(thumbnail, "WEBP"),
    )


def avatar(data: bytes) -> bytes:
    """A ``AVATAR_PIXELS`` square WebP, cropped to the centre; ``NotAnImage`` otherwise."""
    image = _open(data)
    if image is None:
        raise NotAnImage("an avatar must be a PNG, JPEG, GIF or WebP image")
    try:
        image.load()
        square = ImageOps.fit(ImageOps.exif_transpose(image), (AVATAR_PIXELS, AVATAR_PIXELS))
    except (OSError, ValueError, SyntaxError) as exc:
        raise NotAnImage(f"the image could not be read: {exc}") from None
    return _encode(square, "WEBP")


def _encode(image: Image.Image, fmt: str) -> bytes:
    """Re-encode with no metadata: only pixels (and the colour profile) are written."""
    if fmt == "JPEG" and image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    elif fmt == "WEBP" and image.mode not in ("RGB", "RGBA"):
        image = image.convert("RGBA")
    out = io.BytesIO()
    profile = image.info.get("icc_profile")
    options: dict[str, object] = {"icc_profile": profile} if profile else {}
    if fmt in ("JPEG", "WEBP"):
        options["quality"] = 85
    image.save(out, format=fmt, **options)
    return out.getvalue()
