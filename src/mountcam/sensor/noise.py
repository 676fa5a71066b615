"""The fused photon -> electron -> DN kernel, with counter-based random numbers.

Every random draw is a pure function of (seed, stream, frame, pixel position on the full
sensor grid), via SplitMix64 (Steele, Lea & Flood, "Fast splittable pseudorandom number
generators", OOPSLA 2014). So:

- a capture is reproducible bit for bit from its seed, whatever the thread count;
- a ``--crop`` window holds exactly the values the same pixels have in an uncropped capture;
- fixed-pattern noise (PRNU, DSNU) is drawn from the sensor's own seed, identical in every
  frame, as on real silicon; temporal noise is drawn from the capture seed and frame index.

Poisson variates use inversion below λ = 10 and Hörmann's PTRS transformed rejection above
(W. Hörmann, "The transformed rejection method for generating Poisson random variables",
Insurance: Mathematics and Economics 12, 1993) — exact, as in NumPy's generator — up to
λ = 256 e⁻; above, where the Poisson skewness 1/√λ is below 0.0625, a Gaussian of mean and
variance λ rounded to whole electrons, as ISETCam's ``noiseShot`` does (there from λ = 25).
This keeps the photon-transfer statistics exact (mean = variance) at a quarter of the cost;
there, and away from the full well, shot and read noise are drawn as one Gaussian of variance
λ + σ_read² (a sum of independent Gaussians is Gaussian). Normal
variates use the 128-layer ziggurat of Marsaglia & Tsang ("The Ziggurat Method for Generating
Random Variables", J. Stat. Softw. 5(8), 2000), with the layer index taken from bits
independent of the value (the fix suggested by Doornik, 2005).
"""

from __future__ import annotations

import math

import numpy as np

from mountcam.jit import njit, prange

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)
_INV53 = 1.0 / 9007199254740992.0


def _ziggurat_tables() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """kn, wn, fn for the 128-layer normal ziggurat (Marsaglia & Tsang 2000, §"zigset")."""
    m1 = 2147483648.0
    dn = tn = 3.442619855899
    vn = 9.91256303526217e-3
    kn = np.zeros(128, dtype=np.int64)
    wn = np.zeros(128)
    fn = np.zeros(128)
    q = vn / math.exp(-0.5 * dn * dn)
    kn[0] = int((dn / q) * m1)
    kn[1] = 0
    wn[0] = q / m1
    wn[127] = dn / m1
    fn[0] = 1.0
    fn[127] = math.exp(-0.5 * dn * dn)
    for i in range(126, 0, -1):
        dn = math.sqrt(-2.0 * math.log(vn / dn + math.exp(-0.5 * dn * dn)))
        kn[i + 1] = int((dn / tn) * m1)
        tn = dn
        fn[i] = math.exp(-0.5 * dn * dn)
        wn[i] = dn / m1
    return kn, wn, fn


_ZKN, _ZWN, _ZFN = _ziggurat_tables()
_ZR = 3.442619855899
_S32 = np.uint64(32)
_LOW7 = np.uint64(127)

# Streams keep the different kinds of randomness independent.
STREAM_FPN = 1
STREAM_TEMPORAL = 3
STREAM_ROW = 4


@njit(inline="always", cache=True)
def _mix(z):  # pragma: no cover - compiled
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@njit(inline="always", cache=True)
def _key(seed, stream, frame, index):  # pragma: no cover - compiled
    k = _mix(np.uint64(seed) * _GOLDEN + np.uint64(stream))
    k = _mix(k ^ (np.uint64(frame) * _M1))
    return _mix(k ^ (np.uint64(index) * _M2))


@njit(inline="always", cache=True)
def _uniform(state):  # pragma: no cover - compiled
    """(u in (0, 1), next state)."""
    state = state + _GOLDEN
    return ((_mix(state) >> _S11) + 0.5) * _INV53, state


@njit(inline="always", cache=True)
def _normal(state):  # pragma: no cover - compiled
    """(standard normal, next state) by the ziggurat."""
    while True:
        state = state + _GOLDEN
        bits = _mix(state)
        iz = np.int64(bits & _LOW7)
        hz = np.int64(np.int32(np.uint32(bits >> _S32)))
        if abs(hz) < _ZKN[iz]:
            return hz * _ZWN[iz], state
        x = hz * _ZWN[iz]
        if iz == 0:
            # Tail beyond r, by Marsaglia's exponential method.
            while True:
                u1, state = _uniform(state)
                u2, state = _uniform(state)
                xt = -math.log(u1) / _ZR
                yt = -math.log(u2)
                if yt + yt >= xt * xt:
                    break
            return (_ZR + xt) if hz > 0 else -(_ZR + xt), state
        u, state = _uniform(state)
        if _ZFN[iz] + u * (_ZFN[iz - 1] - _ZFN[iz]) < math.exp(-0.5 * x * x):
            return x, state


_LOGGAM_COEFFS = np.array(
    [
        8.333333333333333e-02,
        -2.777777777777778e-03,
        7.936507936507937e-04,
        -5.952380952380952e-04,
        8.417508417508418e-04,
        -1.917526917526918e-03,
        6.410256410256410e-03,
        -2.955065359477124e-02,
        1.796443723688307e-01,
        -1.39243221690590e00,
    ]
)


@njit(inline="always", cache=True)
def _log_gamma(x):  # pragma: no cover - compiled
    """ln Γ(x) for x ≥ 1 by Stirling's series (as NumPy's random_loggam), one logarithm."""
    if x == 1.0 or x == 2.0:
        return 0.0
    n = 0
    x0 = x
    if x <= 7.0:
        n = int(7.0 - x)
        x0 = x + n
    x2 = 1.0 / (x0 * x0)
    gl0 = _LOGGAM_COEFFS[9]
    for k in range(8, -1, -1):
        gl0 = gl0 * x2 + _LOGGAM_COEFFS[k]
    gl = gl0 / x0 + 0.9189385332046727 + (x0 - 0.5) * math.log(x0) - x0
    for _ in range(n):
        x0 -= 1.0
        gl -= math.log(x0)
    return gl


#: ln k! for k < 1024 (PTRS's k stays below λ + 100 < 400 here): a table read instead of
#: Stirling's series in the exact acceptance test; math.lgamma is correct to ~1 ulp.
_LOG_FACTORIAL = np.array([math.lgamma(k + 1.0) for k in range(1024)])


@njit(inline="always", cache=True)
def _log_factorial(k):  # pragma: no cover - compiled
    """ln k! of a whole number k ≥ 0 (a float)."""
    if k < 1024.0:
        return _LOG_FACTORIAL[int(k)]
    return _log_gamma(k + 1.0)


#: Above this mean (electrons) shot noise is drawn as a rounded Gaussian of variance λ.
GAUSSIAN_SHOT_NOISE_FROM_E = 256.0


@njit(cache=True)
def _poisson(lam, state):  # pragma: no cover - compiled
    if lam <= 0.0:
        return 0.0, state
    if lam >= GAUSSIAN_SHOT_NOISE_FROM_E:
        n, state = _normal(state)
        return max(0.0, math.floor(lam + math.sqrt(lam) * n + 0.5)), state
    if lam < 10.0:
        p = math.exp(-lam)
        s = p
        u, state = _uniform(state)
        k = 0
        while u > s and k < 1000:
            k += 1
            p *= lam / k
            s += p
        return float(k), state
    slam = math.sqrt(lam)
    b = 0.931 + 2.53 * slam
    a = -0.059 + 0.02483 * b
    vr = 0.9277 - 3.6224 / (b - 2.0)
    while True:
        u, state = _uniform(state)
        u -= 0.5
        v, state = _uniform(state)
        us = 0.5 - abs(u)
        k = math.floor((2.0 * a / us + b) * u + lam + 0.43)
        if us >= 0.07 and v <= vr:
            return k, state
        if k < 0.0 or (us < 0.013 and v > us):
            continue
        # log(v) + log(1/α) − log(a/us² + b), as one logarithm.
        invalpha = 1.1239 + 1.1328 / (b - 3.4)
        if math.log(v * invalpha / (a / (us * us) + b)) <= (
            -lam + k * math.log(lam) - _log_factorial(k)
        ):
            return k, state


@njit(inline="always", cache=True)
def _stream_key(seed, stream, frame):  # pragma: no cover - compiled
    """The part of :func:`_key` shared by every pixel of a frame:
    ``_key(seed, stream, frame, i) == _mix(_stream_key(seed, stream, frame) ^ (i * _M2))``."""
    k = _mix(np.uint64(seed) * _GOLDEN + np.uint64(stream))
    return _mix(k ^ (np.uint64(frame) * _M1))


@njit(inline="always", cache=True)
def _first_normal(bits):  # pragma: no cover - compiled
    """The ziggurat's first try on 64 random bits: (value, accepted). Accepted (98.8 %) it is
    what :func:`_normal` returns for the state those bits came from."""
    iz = np.int64(bits & _LOW7)
    hz = np.int64(np.int32(np.uint32(bits >> _S32)))
    return hz * _ZWN[iz], abs(hz) < _ZKN[iz]


@njit(inline="always", cache=True)
def _to_uniform(bits):  # pragma: no cover - compiled
    return ((bits >> _S11) + 0.5) * _INV53


@njit(inline="always", cache=True)
def _to_dn(signal_e, k_dn_per_e, black_dn, white_dn, digital_gain):  # pragma: no cover
    # The ADC quantises and clips; digital gain then scales the clipped code.
    dn = min(max(math.floor(k_dn_per_e * signal_e + black_dn + 0.5), 0.0), white_dn)
    if digital_gain != 1.0:
        dn = math.floor(black_dn + (dn - black_dn) * digital_gain + 0.5)
        dn = min(max(dn, 0.0), white_dn)
    return dn


@njit(inline="always", cache=True)
def _pixel_dn(  # pragma: no cover - compiled
    rate_e_per_s,
    exposure_s,
    dark_e,
    well_e,
    prnu,
    dsnu_rel,
    dsnu_offset_e,
    read_e,
    k_dn_per_e,
    black_dn,
    white_dn,
    digital_gain,
    fpn_key,
    temporal_key,
    index,
    row_noise,
):
    """One pixel, every draw taken in full (rejections and all): the definition of the
    capture's random numbers, which :func:`expose`'s fast path reproduces bit for bit."""
    fpn = _mix(fpn_key ^ (np.uint64(index) * _M2))
    n_prnu, fpn = _normal(fpn)
    n_off, fpn = _normal(fpn)
    mean_e = rate_e_per_s * exposure_s
    mean_e *= max(0.0, 1.0 + prnu * n_prnu)
    mean_d = dark_e
    if dark_e * dsnu_rel > 1e-3:  # drawn last, so the other draws never depend on t
        n_dsnu, fpn = _normal(fpn)
        mean_d = dark_e * max(0.0, 1.0 + dsnu_rel * n_dsnu)
    lam = mean_e + mean_d
    state = _mix(temporal_key ^ (np.uint64(index) * _M2))
    if lam >= GAUSSIAN_SHOT_NOISE_FROM_E and lam + 8.0 * math.sqrt(lam) < well_e:
        # Shot and read noise are independent Gaussians here, and the well cannot be
        # reached: their sum is one Gaussian of variance λ + σ_read².
        n_total, state = _normal(state)
        signal_e = lam + math.sqrt(lam + read_e * read_e) * n_total
    else:
        electrons, state = _poisson(lam, state)
        if electrons > well_e:
            electrons = well_e
        n_read, state = _normal(state)
        signal_e = electrons + read_e * n_read
    signal_e += row_noise + dsnu_offset_e * n_off
    return _to_dn(signal_e, k_dn_per_e, black_dn, white_dn, digital_gain)


@njit(parallel=True, cache=True, fastmath=True)
def expose(  # pragma: no cover - compiled
    rate_e_per_s,
    exposure_s,
    dark_e,
    well_e,
    prnu,
    dsnu_rel,
    dsnu_offset_e,
    read_e,
    row_e,
    k_dn_per_e,
    black_dn,
    white_dn,
    digital_gain,
    fpn_seed,
    seed,
    frame,
    origin_row,
    origin_col,
    full_width,
):
    """Mean photo-electron rate (H, W) -> uint16 DN mosaic, one fused pass (EMVA 1288 order).

    ``rate_e_per_s`` is the noise-free photo-electron rate of each pixel for its own CFA
    colour, lens fall-off included. ``dark_e`` is the mean dark electrons per pixel for this
    exposure.

    Each row is done in passes. The first hashes the first tries' random words (pure integer
    arithmetic, vectorised). The next is written without early exits so that the compiler
    vectorises it: every random draw is taken at its first try (the ziggurat's, PTRS's quick
    acceptance), which is what most pixels need; a pixel that needs more is flagged. The second finishes PTRS's first try where its quick acceptance failed (the exact
    test, with logarithms: done only there). The third redoes what is left (a rejected try,
    fewer than 10 e⁻ for the inversion sampler) with :func:`_pixel_dn`, which takes every draw
    in full. The random numbers are keyed by (seed, stream, frame, pixel) alone, so every pass
    gives a pixel the value :func:`_pixel_dn` gives it: the result is the same bit for bit as
    the one-pass kernel (kept as ``tests/noise_reference.py``; ln k! now comes from a table,
    equal to Stirling's series to ~1e-15, which moves PTRS's acceptance boundary by as much).
    """
    h, w = rate_e_per_s.shape
    out = np.empty((h, w), dtype=np.uint16)
    fpn_key = _stream_key(fpn_seed, STREAM_FPN, 0)
    temporal_key = _stream_key(seed, STREAM_TEMPORAL, frame)
    with_dsnu = dark_e * dsnu_rel > 1e-3
    no_dsnu = not with_dsnu
    read2 = read_e * read_e
    g1 = _GOLDEN
    g2 = _GOLDEN + _GOLDEN
    g3 = g2 + _GOLDEN
    for r in prange(h):
        gr = origin_row + r
        n_row, _ = _normal(_key(seed, STREAM_ROW, frame, gr))
        row_noise = row_e * n_row
        base = gr * full_width + origin_col
        # The first tries' random words: fixed pattern (PRNU, offset, DSNU), then temporal.
        f1 = np.empty(w, dtype=np.uint64)
        f2 = np.empty(w, dtype=np.uint64)
        f3 = np.empty(w, dtype=np.uint64)
        t1 = np.empty(w, dtype=np.uint64)
        t2 = np.empty(w, dtype=np.uint64)
        t3 = np.empty(w, dtype=np.uint64)
        for c in range(w):
            index = np.uint64(base + c)
            fpn = _mix(fpn_key ^ (index * _M2))
            f1[c] = _mix(fpn + g1)
            f2[c] = _mix(fpn + g2)
            f3[c] = _mix(fpn + g3)
            t = _mix(temporal_key ^ (index * _M2))
            t1[c] = _mix(t + g1)
            t2[c] = _mix(t + g2)
            t3[c] = _mix(t + g3)
        # 0: done; 1: PTRS's quick acceptance failed, its exact test pending; 2: redo in full.
        code = np.empty(w, dtype=np.uint8)
        for c in range(w):
            n_prnu, ok1 = _first_normal(f1[c])
            n_off, ok2 = _first_normal(f2[c])
            n_dsnu, ok3 = _first_normal(f3[c])
            mean_e = rate_e_per_s[r, c] * exposure_s
            mean_e *= max(0.0, 1.0 + prnu * n_prnu)
            mean_d = dark_e * max(0.0, 1.0 + dsnu_rel * n_dsnu) if with_dsnu else dark_e
            ok = ok1 & ok2 & (ok3 | no_dsnu)
            lam = mean_e + mean_d
            slam = math.sqrt(lam)
            pending = False
            if lam >= GAUSSIAN_SHOT_NOISE_FROM_E:
                n1, ok4 = _first_normal(t1[c])
                if lam + 8.0 * slam < well_e:
                    # Shot and read noise are independent Gaussians here, and the well cannot
                    # be reached: their sum is one Gaussian of variance λ + σ_read².
                    signal_e = lam + math.sqrt(lam + read2) * n1
                    ok5 = True
                else:
                    electrons = min(max(0.0, math.floor(lam + slam * n1 + 0.5)), well_e)
                    n_read, ok5 = _first_normal(t2[c])
                    signal_e = electrons + read_e * n_read
            else:
                # PTRS (Hörmann 1993), its quick acceptance; see _poisson.
                b = 0.931 + 2.53 * slam
                a = -0.059 + 0.02483 * b
                vr = 0.9277 - 3.6224 / (b - 2.0)
                u = _to_uniform(t1[c]) - 0.5
                v = _to_uniform(t2[c])
                us = 0.5 - abs(u)
                k = math.floor((2.0 * a / us + b) * u + lam + 0.43)
                ok4 = lam >= 10.0
                pending = (us < 0.07) | (v > vr)
                n_read, ok5 = _first_normal(t3[c])
                signal_e = min(k, well_e) + read_e * n_read
            signal_e += row_noise + dsnu_offset_e * n_off
            out[r, c] = np.uint16(_to_dn(signal_e, k_dn_per_e, black_dn, white_dn, digital_gain))
            code[c] = 2 if not (ok & ok4 & ok5) else (1 if pending else 0)
        for c in range(w):
            if code[c] == 1:
                # The rest of PTRS's first try: its rejections, then the exact test.
                n_prnu, _ = _first_normal(f1[c])
                n_off, _ = _first_normal(f2[c])
                n_dsnu, _ = _first_normal(f3[c])
                mean_e = rate_e_per_s[r, c] * exposure_s
                mean_e *= max(0.0, 1.0 + prnu * n_prnu)
                mean_d = dark_e * max(0.0, 1.0 + dsnu_rel * n_dsnu) if with_dsnu else dark_e
                lam = mean_e + mean_d
                slam = math.sqrt(lam)
                b = 0.931 + 2.53 * slam
                a = -0.059 + 0.02483 * b
                u = _to_uniform(t1[c]) - 0.5
                v = _to_uniform(t2[c])
                us = 0.5 - abs(u)
                k = math.floor((2.0 * a / us + b) * u + lam + 0.43)
                if k < 0.0 or (us < 0.013 and v > us):
                    code[c] = 2
                    continue
                invalpha = 1.1239 + 1.1328 / (b - 3.4)
                if math.log(v * invalpha / (a / (us * us) + b)) <= (
                    -lam + k * math.log(lam) - _log_factorial(k)
                ):
                    n_read, _ = _first_normal(t3[c])
                    signal_e = min(k, well_e) + read_e * n_read
                    signal_e += row_noise + dsnu_offset_e * n_off
                    dn = _to_dn(signal_e, k_dn_per_e, black_dn, white_dn, digital_gain)
                    out[r, c] = np.uint16(dn)
                else:
                    code[c] = 2
        for c in range(w):
            if code[c] == 2:
                out[r, c] = np.uint16(
                    _pixel_dn(
                        rate_e_per_s[r, c],
                        exposure_s,
                        dark_e,
                        well_e,
                        prnu,
                        dsnu_rel,
                        dsnu_offset_e,
                        read_e,
                        k_dn_per_e,
                        black_dn,
                        white_dn,
                        digital_gain,
                        fpn_key,
                        temporal_key,
                        base + c,
                        row_noise,
                    )
                )
    return out
