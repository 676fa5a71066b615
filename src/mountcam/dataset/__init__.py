"""Synthetic RAW datasets: pairs of (noisy DNG, noise-free truth) from a spec, at any scale.

- :func:`load_spec` / :func:`example_spec`: the spec, as data (:mod:`.spec`);
- :func:`sample_params`: what sample ``i`` is, from the spec and ``i`` alone (:mod:`.plan`);
- :func:`run_dataset`: generate it on Dask (:mod:`.run`);
- :func:`open`: read it back, an indexable sequence a ``DataLoader`` can wrap (:mod:`.reader`).
"""

from mountcam.dataset.plan import SampleParams, sample_params
from mountcam.dataset.reader import Dataset, open
from mountcam.dataset.run import RunReport, connect, run_dataset
from mountcam.dataset.spec import Spec, example_spec, load_spec, parse_spec
from mountcam.dataset.storage import Store

__all__ = [
    "Dataset",
    "RunReport",
    "SampleParams",
    "Spec",
    "Store",
    "connect",
    "example_spec",
    "load_spec",
    "open",
    "parse_spec",
    "run_dataset",
    "sample_params",
]
