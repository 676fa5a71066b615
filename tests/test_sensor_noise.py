"""The fused exposure kernel: shot/read noise statistics, seeds, windows and fixed pattern."""

import numpy as np
import pytest
from scipy import stats

from mountcam.sensor.noise import GAUSSIAN_SHOT_NOISE_FROM_E, expose


def run(
    rate,
    *,
    t=1.0,
    dark=0.0,
    well=1e9,
    prnu=0.0,
    dsnu=0.0,
    offset=0.0,
    read=0.0,
    row=0.0,
    k=1.0,
    black=0.0,
    white=65535.0,
    dgain=1.0,
    fpn_seed=1,
    seed=1,
    frame=0,
    origin=(0, 0),
    full_width=None,
):
    rate = np.ascontiguousarray(rate, dtype=np.float32)
    fw = full_width or rate.shape[1]
    return expose(
        rate,
        t,
        dark,
        well,
        prnu,
        dsnu,
        offset,
        read,
        row,
        k,
        black,
        white,
        dgain,
        fpn_seed,
        seed,
        frame,
        origin[0],
        origin[1],
        fw,
    ).astype(np.float64)


@pytest.mark.parametrize("lam", [0.3, 4.0, 12.0, 60.0, 250.0, 300.0, 5000.0])
def test_shot_noise_mean_equals_variance(lam):
    y = run(np.full((256, 256), lam))
    n = y.size
    assert y.mean() == pytest.approx(lam, abs=5 * np.sqrt(lam / n))
    # Var of a sample variance of a Poisson ≈ 2λ²/n (+λ/n); allow 5 sigma.
    assert y.var() == pytest.approx(lam, abs=5 * np.sqrt((2 * lam**2 + lam) / n))


def test_small_counts_follow_the_poisson_distribution():
    lam = 6.5
    y = run(np.full((200, 200), lam)).astype(int).ravel()
    ks = np.arange(0, 25)
    observed = np.array([(y == k).sum() for k in ks])
    expected = stats.poisson.pmf(ks, lam) * y.size
    keep = expected > 5
    chi2 = ((observed[keep] - expected[keep]) ** 2 / expected[keep]).sum()
    assert chi2 < stats.chi2.ppf(0.999, keep.sum() - 1)


def test_gaussian_regime_is_above_its_threshold_only():
    assert GAUSSIAN_SHOT_NOISE_FROM_E >= 100


def test_photon_transfer_equation_holds_in_dn():
    """σ_y² = K²(σ_d² + μ_e) + σ_q² (EMVA 1288 eq. 7) with read noise and gain."""
    k, read, mu = 0.37, 3.0, 2000.0
    y = run(np.full((300, 300), mu), read=read, k=k, black=100.0)
    assert y.mean() - 100.0 == pytest.approx(k * mu, rel=2e-3)
    predicted = k**2 * (read**2 + mu) + 1 / 12
    assert y.var() == pytest.approx(predicted, rel=0.03)


def test_same_seed_same_frame_other_seed_other_noise():
    rate = np.full((64, 96), 800.0)
    a = run(rate, read=2.0, seed=7)
    b = run(rate, read=2.0, seed=7)
    c = run(rate, read=2.0, seed=8)
    d = run(rate, read=2.0, seed=7, frame=1)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)
    assert not np.array_equal(a, d)
    # Independent noise: the difference of two frames has twice the variance of one.
    assert np.var(a - c) == pytest.approx(2 * np.var(a), rel=0.1)


def test_a_window_holds_exactly_the_pixels_of_the_full_frame():
    rng = np.random.default_rng(0)
    rate = rng.uniform(10, 3000, (64, 80))
    full = run(rate, read=2.0, row=0.5, prnu=0.01, dsnu=0.3, offset=0.5, dark=3.0, seed=3)
    win = run(
        rate[16:48, 24:56],
        read=2.0,
        row=0.5,
        prnu=0.01,
        dsnu=0.3,
        offset=0.5,
        dark=3.0,
        seed=3,
        origin=(16, 24),
        full_width=80,
    )
    assert np.array_equal(full[16:48, 24:56], win)


def test_fixed_pattern_is_fixed_across_captures_and_belongs_to_the_sensor():
    rate = np.full((128, 128), 1e6)
    a = run(rate, prnu=0.05, seed=1, k=0.01)
    b = run(rate, prnu=0.05, seed=2, k=0.01)
    other = run(rate, prnu=0.05, seed=1, k=0.01, fpn_seed=2)
    assert np.corrcoef(a.ravel(), b.ravel())[0, 1] > 0.98
    assert abs(np.corrcoef(a.ravel(), other.ravel())[0, 1]) < 0.05
    assert np.std(a) / np.mean(a) == pytest.approx(0.05, rel=0.1)


def test_row_noise_is_shared_along_a_row():
    y = run(np.zeros((400, 400)), row=5.0, black=1000.0)
    row_means = y.mean(axis=1)
    assert np.std(row_means) == pytest.approx(5.0, rel=0.15)
    assert np.std(y - row_means[:, None]) < 0.5  # nothing else varies


def test_clipping_at_the_well_and_the_adc_and_digital_gain():
    assert run(np.full((8, 8), 5000.0), well=1000.0).max() == 1000.0
    assert run(np.full((8, 8), 5000.0), white=4095.0).max() == 4095.0
    y = run(np.full((64, 64), 100.0), black=64.0, dgain=4.0, white=1e9)
    assert y.mean() == pytest.approx(64 + 4 * 100, rel=0.01)
    assert np.all((y - 64) % 4 == 0)  # digital gain leaves gaps between codes


def test_dark_current_adds_to_shot_noise():
    y = run(np.zeros((300, 300)), dark=40.0)
    assert y.mean() == pytest.approx(40.0, rel=0.01)
    assert y.var() == pytest.approx(40.0, rel=0.05)


@pytest.mark.parametrize(
    "figures",
    [
        # Binned daylight-like: dark current with DSNU (a third fixed-pattern draw), ADC clip.
        dict(dark=0.05, dsnu=0.4, prnu=0.006, offset=0.8, read=1.6, row=0.3, k=0.06, white=4095.0),
        # No DSNU draw; a well inside the ADC range, so near-full pixels take the Poisson branch.
        dict(dark=0.0, dsnu=0.4, prnu=0.01, offset=0.5, read=3.0, row=0.0, k=0.2, well=6000.0),
        # Digital gain above the analog range.
        dict(dark=2.0, dsnu=0.3, prnu=0.01, offset=0.5, read=1.2, row=0.5, k=1.5, dgain=2.5),
    ],
)
def test_the_vectorised_kernel_equals_the_one_pass_reference_bit_for_bit(figures):
    """The two-pass kernel (first tries vectorised, the rest redone in full) must give every
    pixel the value of the one-pass kernel it replaced, in every sampler regime: inversion
    (λ < 10), PTRS (10-256 e-), rounded Gaussian near the well, one Gaussian above 256 e-."""
    from noise_reference import expose_reference

    rng = np.random.default_rng(5)
    h, w = 96, 130
    lam = np.exp(rng.uniform(np.log(0.05), np.log(40000.0), (h, w)))
    lam[:4] = 0.0
    lam[4:8] = 9.99
    lam[8:12] = 255.9
    rate = lam.astype(np.float32) / 0.01
    args = dict(t=0.01, seed=11, frame=3, origin=(20, 36), full_width=400) | figures
    fast = run(rate, **args)

    ref_args = (
        np.ascontiguousarray(rate, dtype=np.float32),
        args["t"],
        args.get("dark", 0.0),
        args.get("well", 1e9),
        args.get("prnu", 0.0),
        args.get("dsnu", 0.0),
        args.get("offset", 0.0),
        args.get("read", 0.0),
        args.get("row", 0.0),
        args.get("k", 1.0),
        args.get("black", 0.0),
        args.get("white", 65535.0),
        args.get("dgain", 1.0),
        1,
        args["seed"],
        args["frame"],
        args["origin"][0],
        args["origin"][1],
        args["full_width"],
    )
    reference = expose_reference(*ref_args).astype(np.float64)
    assert np.array_equal(fast, reference)
