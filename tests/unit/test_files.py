"""The file store's parts that need no service: key rules, the disk store, sniffing and
images (thumbnails, stripped metadata, decompression bombs, avatars)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from parley.files import DiskFileStore, InvalidKey, MissingFile, media, valid_key


def image(fmt: str, size: tuple[int, int] = (1200, 900), **save: object) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (10, 200, 90)).save(out, fmt, **save)
    return out.getvalue()


@pytest.mark.parametrize("key", ["files/0a1b", "avatars/7-9f3c", "files/abc-thumb"])
def test_keys_parley_makes_are_valid(key: str) -> None:
    assert valid_key(key) == key


@pytest.mark.parametrize(
    "key",
    ["", "files", "/files/a", "files/../x", "files/a/../../b", "Files/A", "files/a\0b", "files//a"],
)
def test_other_keys_are_refused(key: str) -> None:
    with pytest.raises(InvalidKey):
        valid_key(key)


async def test_disk_store(tmp_path: Path) -> None:
    store = DiskFileStore(tmp_path / "files")
    await store.start()
    data = bytes(range(256)) * 1000
    await store.put("files/abc", data, "application/octet-stream")
    blob = await store.get("files/abc", 100, 299)
    assert blob.size == len(data)
    assert b"".join([c async for c in blob.chunks]) == data[100:300]
    whole = await store.get("files/abc")
    assert b"".join([c async for c in whole.chunks]) == data
    assert await store.stat("files/abc") == len(data)
    await store.delete("files/abc")
    await store.delete("files/abc")
    assert await store.stat("files/abc") is None
    with pytest.raises(MissingFile):
        await store.get("files/abc")
    with pytest.raises(InvalidKey):
        await store.put("../outside", b"x", "text/plain")
    assert not (tmp_path / "outside").exists()


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"<!doctype html><html><script>alert(1)</script></html>", "text/html"),
        (b'<svg xmlns="http://www.w3.org/2000/svg"><script>1</script></svg>', "image/svg+xml"),
        (b"%PDF-1.7\n", "application/pdf"),
        (b"plain words\n", "text/plain"),
        (b"\x8f\x00\xc3\x28\x01\x02\x03\x04\x05\x06", "application/octet-stream"),
    ],
)
def test_sniffing_uses_the_bytes(data: bytes, expected: str) -> None:
    found = media.inspect(data)
    assert found.content_type == expected
    assert found.width is None and found.thumbnail is None and found.data == data


@pytest.mark.parametrize(
    ("fmt", "content_type"),
    [("PNG", "image/png"), ("JPEG", "image/jpeg"), ("GIF", "image/gif"), ("WEBP", "image/webp")],
)
def test_images_get_a_thumbnail(fmt: str, content_type: str) -> None:
    found = media.inspect(image(fmt))
    assert (found.content_type, found.width, found.height) == (content_type, 1200, 900)
    assert found.thumbnail is not None
    thumbnail = Image.open(io.BytesIO(found.thumbnail))
    assert thumbnail.format == "WEBP" and thumbnail.size == (480, 360)


def test_metadata_is_stripped_and_orientation_applied() -> None:
    exif = Image.Exif()
    exif[0x010F] = "SecretCamera"
    exif[0x0112] = 6  # rotated: shown 90° clockwise
    found = media.inspect(image("JPEG", (400, 200), exif=exif))
    assert b"SecretCamera" not in found.data
    assert (found.width, found.height) == (200, 400)
    assert not Image.open(io.BytesIO(found.data)).getexif()


def test_a_decompression_bomb_is_never_decoded() -> None:
    bomb = io.BytesIO()
    Image.new("1", (9000, 9000)).save(bomb, "PNG")  # 81 M pixels in a few kB
    found = media.inspect(bomb.getvalue())
    assert found.width is None and found.thumbnail is None
    assert found.data == bomb.getvalue()


def test_a_truncated_image_is_a_plain_file() -> None:
    data = image("PNG")[:200]
    found = media.inspect(data)
    assert found.width is None and found.thumbnail is None


def test_avatars_are_square_and_only_images() -> None:
    avatar = Image.open(io.BytesIO(media.avatar(image("PNG", (900, 300)))))
    assert avatar.size == (256, 256) and avatar.format == "WEBP"
    with pytest.raises(media.NotAnImage):
        media.avatar(b"<svg xmlns='http://www.w3.org/2000/svg'/>")
