"""The stacked layout of ``codes.ldpc.bp_decode`` (check update by prefix/suffix scans over stacked slots, used above
``STACKED_ABOVE_DEGREE``): the same check rule as the float64 tanh rule and the same decoder outputs as the per-slot
kernel, on a check-regular and a check-irregular (padded, masked) code."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

from neuralcodes_jax.codes import ldpc


def irregular_h() -> np.ndarray:
    """A small check-irregular matrix: row weights 2..7, one check of degree 1."""
    rng = np.random.default_rng(0)
    h = np.zeros((10, 24), np.uint8)
    for r, w in enumerate([2, 3, 4, 5, 6, 7, 3, 4, 5, 1]):
        h[r, rng.choice(24, w, replace=False)] = 1
    h[rng.integers(0, 9, 24), np.arange(24)] = 1  # every variable in some check
    return h


CODES = {"regular": lambda: ldpc.gallager_regular(48, 3, 6, seed=1), "irregular": irregular_h}


def loo_tanh_rule(v: np.ndarray, mask: np.ndarray, clip: float) -> np.ndarray:
    """``2 atanh(prod_{j' != j} tanh(v_j' / 2))`` in float64 over the real slots, clipped (brute force)."""
    t = np.where(mask, np.tanh(v.astype(np.float64) / 2.0), 1.0)
    out = np.empty_like(t)
    for j in range(v.shape[0]):
        p = np.prod(np.delete(t, j, axis=0), axis=0)
        with np.errstate(divide="ignore"):  # |p| = 1 (saturated messages): atanh is +-inf, clipped below
            out[j] = np.clip(2.0 * np.arctanh(np.clip(p, -1.0, 1.0)), -clip, clip)
    return out


@pytest.mark.slow
def test_stacked_sum_product_is_the_tanh_rule():
    rng = np.random.default_rng(1)
    dc, rows, width = 9, 6, 40
    v = (rng.normal(size=(dc, rows, width)) * rng.choice([0.3, 2.0, 8.0], size=(dc, rows, 1))).astype(np.float32)
    v[0, 0, :5] = 0.0  # zero messages (erasures)
    mask = np.ones((dc, rows, 1), bool)
    mask[5:, 1] = False  # a check of degree 5
    mask[1:, 2] = False  # a check of degree 1: its message is +clip
    got = np.asarray(ldpc._sum_product_stacked(jnp.asarray(v), jnp.asarray(mask), jnp.float32(40.0)))
    want = loo_tanh_rule(v, mask, 40.0)
    real = np.broadcast_to(mask, v.shape)
    np.testing.assert_allclose(got[real], want[real], rtol=2e-4, atol=2e-4)
    np.testing.assert_array_equal(got[0, 2], 40.0)


@pytest.mark.slow
@pytest.mark.parametrize("code", sorted(CODES))
@pytest.mark.parametrize("algorithm", ["sum_product", "min_sum"])
def test_stacked_bp_decode_equals_the_per_slot_kernel(code, algorithm):
    h = CODES[code]()
    rng = np.random.default_rng(2)
    llr = (rng.normal(2.0, 1.6, size=(300, h.shape[1])) * rng.uniform(0.5, 3.0, size=(300, 1))).astype(np.float32)
    kw = dict(algorithm=algorithm, max_iters=12, tile=64)
    slots = ldpc.bp_decode(h, llr, stacked=False, **kw)
    stacked = ldpc.bp_decode(h, llr, stacked=True, **kw)
    conv = np.asarray(slots.converged)
    assert 0.1 < conv.mean() < 0.95 and len(set(np.asarray(slots.iterations).tolist())) >= 3
    for a, b in zip(slots, stacked):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_layout_is_chosen_by_degree_and_checked():
    assert not ldpc.use_stacked(ldpc.TannerGraph.from_parity_check(ldpc.gallager_regular(48, 3, 6, seed=1)))
    dense = np.ones((2, ldpc.STACKED_ABOVE_DEGREE + 1), np.uint8)
    assert ldpc.use_stacked(ldpc.TannerGraph.from_parity_check(dense))
    with pytest.raises(ValueError, match="stacked"):
        ldpc.bp_decode(dense, np.ones((1, dense.shape[1]), np.float32), stacked="yes")
