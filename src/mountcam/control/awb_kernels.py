"""Compiled inner loop of :mod:`mountcam.control.awb`: the candidates' scores."""

from __future__ import annotations

import numpy as np

from mountcam.jit import njit


@njit(cache=True)
def weighted_bilinear_lookup(density, floor, ks, chromas, centres, weights, bin_width):
    """out[i] = Σ_b weights[b] · bilinear(density[ks[i]], (centres[b] − chromas[i]) / bin_width).

    ``density`` (K, M, M) holds bin centres at ``(j + 0.5 − M/2) · bin_width``; a sample whose
    cell leaves the grid takes ``floor[k]`` (the density's minimum), as
    the numpy reference in tests/test_control_awb.py does.
    """
    n = ks.shape[0]
    m = density.shape[1]
    half = m / 2 - 0.5
    out = np.zeros(n)
    for i in range(n):
        k = ks[i]
        total = 0.0
        for b in range(centres.shape[0]):
            xu = (centres[b, 0] - chromas[i, 0]) / bin_width + half
            xv = (centres[b, 1] - chromas[i, 1]) / bin_width + half
            iu = int(np.floor(xu))
            iv = int(np.floor(xv))
            if iu < 0 or iu >= m - 1 or iv < 0 or iv >= m - 1:
                total += weights[b] * floor[k]
                continue
            fu = xu - iu
            fv = xv - iv
            v = (
                density[k, iu, iv] * (1 - fu) * (1 - fv)
                + density[k, iu + 1, iv] * fu * (1 - fv)
                + density[k, iu, iv + 1] * (1 - fu) * fv
                + density[k, iu + 1, iv + 1] * fu * fv
            )
            total += weights[b] * v
        out[i] = total
    return out
