"""Where a dataset lives: a local folder or any fsspec URL (``s3://bucket/prefix`` with s3fs).

Every file is written whole or not at all. On a local filesystem the bytes go to a hidden
temporary name in the same folder and are renamed into place (POSIX ``rename`` is atomic);
on an object store a single PUT is atomic by the store's own semantics (an S3 object appears
complete or not at all), so the bytes are put under their final name directly. A sample's
files are named by its index and are the same bytes whoever renders them, so a sample written
twice (a task retried after its worker died) replaces itself with itself.

Credentials and endpoints come from fsspec's usual places (for S3: the AWS environment
variables, ``~/.aws``, or ``storage_options``); workers on other machines need the same.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import uuid
from dataclasses import dataclass, field
from typing import Any

#: Suffix of the temporary names local writes use (removed when a run finishes).
PARTIAL_SUFFIX = ".partial"


@dataclass
class Store:
    """A dataset's root: ``url`` plus fsspec ``storage_options``. Picklable, so workers get it."""

    url: str
    storage_options: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        try:
            import fsspec
        except ImportError:
            from mountcam.errors import MountcamError

            raise MountcamError(
                "dataset storage needs the scale extra: pip install 'mountcam[scale]'"
            ) from None

        self.fs, self.root = fsspec.core.url_to_fs(self.url, **self.storage_options)
        self.root = self.root.rstrip("/") or "/"

    def __getstate__(self) -> dict:
        return {"url": self.url, "storage_options": self.storage_options}

    def __setstate__(self, state: dict) -> None:
        self.url = state["url"]
        self.storage_options = state["storage_options"]
        self.__post_init__()

    @property
    def local(self) -> bool:
        return "file" in _protocols(self.fs)

    def path(self, relative: str) -> str:
        return posixpath.join(self.root, relative)

    def exists(self, relative: str) -> bool:
        return self.fs.exists(self.path(relative))

    def read_bytes(self, relative: str) -> bytes:
        return self.fs.cat_file(self.path(relative))

    def write_bytes(self, relative: str, data: bytes) -> str:
        """Write ``data`` as ``relative`` atomically; returns its SHA-256 (hex)."""
        target = self.path(relative)
        if self.local:
            folder = os.path.dirname(target)
            os.makedirs(folder, exist_ok=True)
            tmp = os.path.join(
                folder, f".{os.path.basename(target)}.{uuid.uuid4().hex[:8]}{PARTIAL_SUFFIX}"
            )
            try:
                with open(tmp, "xb") as stream:
                    stream.write(data)
                    stream.flush()
                    os.fsync(stream.fileno())
                os.replace(tmp, target)
            except BaseException:
                if os.path.exists(tmp):
                    os.unlink(tmp)
                raise
        else:
            self.fs.pipe_file(target, data)
        return hashlib.sha256(data).hexdigest()

    def find(self, relative: str, suffix: str) -> list[str]:
        """Paths (relative to the root) under ``relative`` ending in ``suffix``."""
        base = self.path(relative)
        if not self.fs.exists(base):
            return []
        start = len(self.root) + 1
        return sorted(p[start:] for p in self.fs.find(base) if p.endswith(suffix))

    def remove_partials(self) -> int:
        """Remove temporary files left by writes that were interrupted (local stores only)."""
        if not self.local or not os.path.isdir(self.root):
            return 0
        removed = 0
        for folder, _, files in os.walk(self.root):
            for name in files:
                if name.endswith(PARTIAL_SUFFIX):
                    os.unlink(os.path.join(folder, name))
                    removed += 1
        return removed


def _protocols(fs) -> tuple[str, ...]:
    protocol = fs.protocol
    return (protocol,) if isinstance(protocol, str) else tuple(protocol)
