"""Paired comparison of two decoders on the same noise blocks (common random numbers): is neural BP's BER below BP's?

Both decoders decode the SAME channel outputs (random codewords, BPSK-AWGN at one Eb/N0, NumPy noise of ``seed``),
so the noise common to both cancels and the test looks only at the blocks where they differ. Per block ``i`` the
bit errors ``a_i`` (decoder A, the baseline) and ``b_i`` (decoder B) are kept where either is nonzero. Reported:

* BER of each and ``delta = -ln(BER_B) - (-ln(BER_A)) = ln(sum a / sum b)`` (the block count cancels);
* a 95% interval of ``delta`` by the Poisson bootstrap over blocks (each block weighted by an independent
  Poisson(1) draw; blocks where both are right weigh nothing in either sum, so only the others are resampled);
* the paired z-test of the mean per-block difference ``a_i - b_i`` (over all blocks; one-sided p for "B has fewer
  bit errors");
* McNemar's exact test on blocks (``n_ab``: A wrong and B right, ``n_ba``: the reverse; two-sided binomial p of
  ``min(n_ab, n_ba)`` out of ``n_ab + n_ba`` at 1/2).

A point stops after the batch in which both decoders have at least ``target_block_errors`` block errors, or at
``max_blocks`` blocks. ``python -m launch.neural_decoders --paired_ebno=6 ...`` runs it for BP against neural BP.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import jax.numpy as jnp
import numpy as np
from scipy import stats

from neuralcodes_jax.codes import bounds

#: Poisson-bootstrap resamples for the interval of delta.
BOOTSTRAP = 4000


def _generator(code: Any) -> np.ndarray:
    k = code.k
    return np.asarray(code.encode(jnp.eye(k, dtype=jnp.uint8)), np.uint8)


def simulate_pair(
    decode_a: Callable[[np.ndarray], Any],
    decode_b: Callable[[np.ndarray], Any],
    code: Any,
    ebno_db: float,
    *,
    seed: int = 0,
    batch_size: int = 1000,
    target_block_errors: int = 1000,
    max_blocks: int = 1_000_000,
) -> dict[str, Any]:
    """Decode the same random blocks with both decoders (``llr [B, n] float32 -> codeword bits [B, n]``) and count
    their bit errors per block; returns the counts of the blocks where either erred and the totals, with
    :func:`paired_stats` of them."""
    if target_block_errors < 1 or max_blocks < 1 or batch_size < 1:
        raise ValueError("target_block_errors, max_blocks and batch_size must be >= 1")
    g = _generator(code).astype(np.float32)
    sigma = float(bounds.ebn0_db_to_sigma(float(ebno_db), code.k / code.n))
    rng = np.random.default_rng(seed)
    err_a, err_b = [], []
    blocks = blk_a = blk_b = 0
    t0 = time.time()
    while blocks < max_blocks and min(blk_a, blk_b) < target_block_errors:
        b = min(batch_size, max_blocks - blocks)
        msgs = rng.integers(0, 2, (b, code.k)).astype(np.float32)
        words = (msgs @ g % 2).astype(np.uint8)
        y = (1.0 - 2.0 * words) + sigma * rng.normal(size=words.shape)
        llr = (2.0 * y / sigma**2).astype(np.float32)
        ea = (np.asarray(decode_a(llr)).astype(np.uint8) != words).sum(axis=1)
        eb = (np.asarray(decode_b(llr)).astype(np.uint8) != words).sum(axis=1)
        keep = (ea > 0) | (eb > 0)
        err_a.append(ea[keep])
        err_b.append(eb[keep])
        blocks += b
        blk_a += int((ea > 0).sum())
        blk_b += int((eb > 0).sum())
    a = np.concatenate(err_a).astype(np.int64)
    bb = np.concatenate(err_b).astype(np.int64)
    out = {
        "ebn0_db": float(ebno_db),
        "seed": int(seed),
        "n": int(code.n),
        "blocks": int(blocks),
        "target_block_errors": int(target_block_errors),
        "max_blocks": int(max_blocks),
        "seconds": time.time() - t0,
        **paired_stats(a, bb, blocks, code.n, seed=seed),
    }
    return out


def paired_stats(a: np.ndarray, b: np.ndarray, blocks: int, n: int, seed: int = 0) -> dict[str, Any]:
    """Statistics of per-block bit errors ``a``, ``b`` (int, the blocks where either is nonzero; ``blocks`` in all,
    ``n`` bits each): module docstring."""
    a = np.asarray(a, np.int64)
    b = np.asarray(b, np.int64)
    sa, sb = int(a.sum()), int(b.sum())
    bits = blocks * n
    neg_ln = lambda e: -math.log(e / bits) if e > 0 else None
    delta = math.log(sa / sb) if sa > 0 and sb > 0 else None
    # Poisson bootstrap over the blocks where either erred.
    rng = np.random.default_rng(seed + 1)
    lo = hi = None
    if a.size:
        w = rng.poisson(1.0, size=(BOOTSTRAP, a.size)).astype(np.float64)
        ra, rb = w @ a, w @ b
        with np.errstate(divide="ignore"):
            d = np.log(ra) - np.log(rb)  # +-inf where one sum is 0: kept, they sort to the ends
        d = np.where(np.isnan(d), 0.0, d)
        lo, hi = (float(x) for x in np.quantile(d, [0.025, 0.975]))
    diff = a - b  # zero on the other blocks
    mean = diff.sum() / blocks
    var = (np.square(diff).sum() / blocks - mean**2) * blocks / max(blocks - 1, 1)
    z = mean / math.sqrt(var / blocks) if var > 0 else (math.inf if mean > 0 else 0.0)
    n_ab = int(((a > 0) & (b == 0)).sum())
    n_ba = int(((b > 0) & (a == 0)).sum())
    mcnemar = float(stats.binomtest(min(n_ab, n_ba), n_ab + n_ba, 0.5).pvalue) if n_ab + n_ba else 1.0
    return {
        "bit_errors_a": sa,
        "bit_errors_b": sb,
        "block_errors_a": int((a > 0).sum()),
        "block_errors_b": int((b > 0).sum()),
        "neg_ln_ber_a": neg_ln(sa),
        "neg_ln_ber_b": neg_ln(sb),
        "delta": delta,
        "delta_lo": lo,
        "delta_hi": hi,
        "z": float(z),
        "p_one_sided": float(stats.norm.sf(z)),
        "mcnemar_a_only": n_ab,
        "mcnemar_b_only": n_ba,
        "mcnemar_p": mcnemar,
    }


def holm(pvalues: dict[str, float], level: float = 0.05) -> dict[str, bool]:
    """Holm-Bonferroni: which hypotheses are rejected at family-wise ``level``."""
    order = sorted(pvalues, key=pvalues.get)
    out = {k: False for k in pvalues}
    for i, k in enumerate(order):
        if pvalues[k] > level / (len(order) - i):
            break
        out[k] = True
    return out


def _f(v: float | None, fmt: str = ".2f") -> str:
    if v is None:
        return "inf"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return format(v, fmt)


def _p(v: float) -> str:
    return "< 1e-300" if v < 1e-300 else f"{v:.1e}"


def markdown(rows: dict[str, dict[str, Any]], name_a: str = "BP", name_b: str = "neural BP") -> str:
    """A table of the paired comparisons, one row per code, with the Holm verdict over the codes (one-sided paired
    test at 5%)."""
    verdict = holm({c: r["p_one_sided"] for c, r in rows.items()})
    lines = [
        f"| code | Eb/N0 | blocks | block errors {name_a} / {name_b} | -ln(BER) {name_a} | -ln(BER) {name_b} | "
        f"delta [95% bootstrap] | paired z, one-sided p | McNemar {name_a}-only / {name_b}-only, p | "
        f"{name_b} better (Holm, 5%) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for c, r in rows.items():
        lines.append(
            f"| {c} | {r['ebn0_db']:g} | {r['blocks']} | {r['block_errors_a']} / {r['block_errors_b']} | "
            f"{_f(r['neg_ln_ber_a'])} | {_f(r['neg_ln_ber_b'])} | {_f(r['delta'])} [{_f(r['delta_lo'])}, "
            f"{_f(r['delta_hi'])}] | {r['z']:.1f}, {_p(r['p_one_sided'])} | {r['mcnemar_a_only']} / "
            f"{r['mcnemar_b_only']}, {_p(r['mcnemar_p'])} | {'yes' if verdict[c] else 'no'} |"
        )
    return "\n".join(lines) + "\n"


__all__ = ["simulate_pair", "paired_stats", "holm", "markdown"]
