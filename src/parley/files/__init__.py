"""Where uploaded files live: a folder on disk (embedded) or an S3-compatible store (clusters).

``app.py`` picks the implementation; everything else sees ``FileStore``.
"""

from parley.files.base import Blob, FileStore, InvalidKey, MissingFile, valid_key
from parley.files.disk import DiskFileStore

__all__ = ["Blob", "DiskFileStore", "FileStore", "InvalidKey", "MissingFile", "valid_key"]
