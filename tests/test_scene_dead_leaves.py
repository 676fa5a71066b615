"""The dead-leaves texture's fused block average against the plain numpy formula it replaces."""

from __future__ import annotations

import numpy as np
import pytest

from mountcam.scene.dead_leaves import box_mean_colours


@pytest.mark.parametrize("k", [1, 2, 3, 4])
def test_box_mean_colours_equals_gathering_then_averaging(k):
    rng = np.random.default_rng(k)
    palette = rng.uniform(0.03, 0.85, (500, 3)).astype(np.float32)
    labels = rng.integers(0, len(palette), (7 * k, 11 * k)).astype(np.int32)
    reference = palette[labels].reshape(7, k, 11, k, 3).astype(np.float64).mean(axis=(1, 3))
    fused = box_mean_colours(labels, palette, k)
    assert fused.dtype == np.float32 and fused.shape == (7, 11, 3)
    np.testing.assert_allclose(fused, reference, rtol=1e-6, atol=0)
    if k == 1:
        assert np.array_equal(fused, palette[labels])
