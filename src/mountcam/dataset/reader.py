"""Read a dataset back: ``mountcam.dataset.open(URL)`` → an indexable, iterable sequence.

Each item is a dict a training loop can use as it is::

    {"index": 12, "raw": (H, W) uint16 mosaic (the DNG's active area), "cfa_pattern": "RGGB",
     "black_level_dn": [...], "white_level_dn": 4095,
     "truth": (H, W, 3) float32 linear sRGB or None, "meta": {every manifest column}}

so a PyTorch ``DataLoader`` or a JAX input pipeline wraps it directly (it is a plain
``Sequence``; items are read lazily, one sample's files per ``__getitem__``, and the object is
picklable for loader worker processes). The manifest itself is a Parquet file that pandas,
pyarrow and Hugging Face ``datasets`` read without mountcam: ``Dataset.manifest`` is it as a
pyarrow Table.
"""

from __future__ import annotations

import builtins
import io
import os
import tempfile
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from mountcam.dataset.run import MANIFEST
from mountcam.dataset.storage import Store
from mountcam.errors import UnreadableFile


class Dataset(Sequence):
    """A generated dataset at ``url`` (local path or fsspec URL)."""

    def __init__(self, url: str, storage_options: dict | None = None) -> None:
        import pyarrow.parquet as pq

        self.store = Store(str(url), dict(storage_options or {}))
        try:
            data = self.store.read_bytes(MANIFEST)
        except FileNotFoundError:
            raise UnreadableFile(
                f"{url} has no {MANIFEST}: not a mountcam dataset, or its run has not finished"
            ) from None
        self.manifest = pq.read_table(io.BytesIO(data))
        self._rows = self.manifest.to_pylist()

    def __len__(self) -> int:
        return len(self._rows)

    def __getitem__(self, index: int) -> dict[str, Any]:  # type: ignore[override]
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if not -len(self) <= index < len(self):
            raise IndexError(f"sample {index} is outside the dataset's {len(self)} samples")
        row = self._rows[index]
        raw, info = self._read_dng(row["files_dng"])
        truth = None
        if row.get("files_truth"):
            import tifffile

            truth = tifffile.imread(io.BytesIO(self.store.read_bytes(row["files_truth"])))
            truth = truth.astype(np.float32)
        return {
            "index": row["index"],
            "raw": raw,
            "cfa_pattern": info.cfa_pattern,
            "black_level_dn": list(info.black_level_dn),
            "white_level_dn": info.white_level_dn,
            "truth": truth,
            "meta": row,
        }

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for i in range(len(self)):
            yield self[i]

    def _read_dng(self, relative: str):
        from mountcam.dng.reader import read_dng

        if self.store.local:
            info = read_dng(self.store.path(relative))
        else:
            with tempfile.TemporaryDirectory(prefix="mountcam-dataset-") as folder:
                path = os.path.join(folder, "sample.dng")
                with builtins.open(path, "wb") as f:
                    f.write(self.store.read_bytes(relative))
                info = read_dng(path)
        top, left, bottom, right = info.active_area
        return np.ascontiguousarray(info.mosaic[top:bottom, left:right]), info

    def __getstate__(self) -> dict:
        return {"url": self.store.url, "storage_options": self.store.storage_options}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["url"], state["storage_options"])


def open(url: str, storage_options: dict | None = None) -> Dataset:  # noqa: A001 - the API's name
    """Open the dataset at ``url`` for reading (see :class:`Dataset`)."""
    return Dataset(url, storage_options)
