"""Exact BSC/BEC error rates of any binary codebook by enumeration, and Monte Carlo with confidence intervals.

Exact evaluation (coding-anchors Sec. 2.4; NumPy on the host, no JAX): counts are exact integers, polynomials are
evaluated in float64, and the Walsh-Hadamard transforms only see integer data whose partial sums the format holds
exactly (float32 below ``2^24``, float64 below ``2^53``), so the enumeration never rounds.

A codebook is ``[M, n]`` bits (linear or not, ``n <= 24``); row ``m`` is the codeword of message ``m``, whose ``k``-bit
label is ``u_m`` (``labels [M, k]``; default for ``M = 2^k``: the MSB-first binary expansion of ``m``). Received
words ``y`` are the integers ``0 .. 2^n - 1`` (bit ``j`` of the word is bit ``n-1-j`` of the integer, see
:mod:`neuralcodes_jax.codes.gf2`). Every BSC(p) error rate is returned as a :class:`WeightPolynomial`

    value(p) = sum_{w=0}^{n} counts[w] p^w (1-p)^(n-w) / denominator

with exact non-negative integer ``counts`` (stable for every ``p``; one enumeration serves any number of ``p``):

* ML BLER ``1 - (1/M) sum_y max_m P(y|x_m)``: for ``p <= 1/2`` the max is ``p^d (1-p)^(n-d)``, ``d`` the distance
  from ``y`` to the nearest codeword (whatever the tie-breaking), from a separable distance transform over the
  hypercube (``O(n 2^n)``, independent of ``M``).
* BLER of a decoder ``dec`` (a function or a table): ``1 - (1/M) sum_y P(y | x_dec(y))``.
* BER of a decoder under the labelling, ``(1/(kM)) sum_m sum_y P(y|x_m) d_H(u_m, u_dec(y))``: an XOR-correlation on
  the hypercube, exact via Walsh-Hadamard transforms (``O(k n 2^n)``; float32 BLAS on 0/1 data with partial sums
  below ``2^24``, int64 products, a float64 three-limb inverse), grouped by error weight.

Linear codes with syndrome decoding have fast coset-leader formulas (:func:`syndrome_bler_bsc`,
:func:`syndrome_ber_bsc`; coding-anchors Sec. 2.2).

BEC(delta) (:func:`ml_bler_bec`): an erasure pattern leaves ``c`` codewords that agree with the sent one on the
unerased positions; ``c = 1`` decodes correctly, ``c > 1`` needs a guess. ``guess="uniform"`` (default; true ML with
random tie-breaking) fails with probability ``1 - 1/c`` (``c = 2^(k - rank)`` for a linear code);
``guess="failure"`` counts any ambiguity as a block error (an erasure-declaring decoder, the convention of
coding-anchors Sec. 2.6 for Hamming(7,4)).

:func:`monte_carlo` runs a JAX encoder/decoder pair over a channel until a target number of block errors or a
maximum number of blocks, with Wilson and Clopper-Pearson intervals.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fractions
import functools
import math
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from scipy import stats

from neuralcodes_jax import channels
from neuralcodes_jax.codes import gf2
from neuralcodes_jax.codes.linear import (
    MAX_ENUMERATION_BITS,
    LinearCode,
    SyndromeDecoder,
    _xor_map_table,
    krawtchouk_table,
)
from neuralcodes_jax.config_utils import check_probability

__all__ = [
    "WeightPolynomial",
    "BSCEvaluation",
    "validate_codebook",
    "default_labels",
    "nearest_codeword_distances",
    "ml_decoder_table",
    "decoder_decisions",
    "ml_bler_bsc",
    "decoder_bler_bsc",
    "decoder_ber_bsc",
    "ml_ber_bsc",
    "evaluate_bsc",
    "syndrome_bler_bsc",
    "syndrome_ber_bsc",
    "ml_bler_bec",
    "BEC_GUESS_OPTIONS",
    "uncoded_bler",
    "bounded_distance_bler",
    "hamming_ber",
    "MonteCarloResult",
    "monte_carlo",
    "wilson_interval",
    "clopper_pearson_interval",
]

BEC_GUESS_OPTIONS = ("uniform", "failure")
Decoder = Callable[[np.ndarray], Any] | np.ndarray


# ------------------------------------------------------------------------------------- validation
def validate_codebook(
    codebook: Any, name: str = "codebook", allow_repeated: bool = False, max_n: int = MAX_ENUMERATION_BITS
) -> tuple[np.ndarray, np.ndarray]:
    """Checks a codebook ``[M, n]`` of bits and returns ``(bits uint8 [M, n], ints int64 [M])``.

    Raises ValueError (naming ``name``) for non-binary entries, a wrong shape, ``n > max_n``, or repeated rows
    (unless ``allow_repeated``).
    """
    bits = gf2.as_binary_matrix(codebook, name)
    m, n = bits.shape
    if n > max_n:
        raise ValueError(f"{name} length n must be <= {max_n} for exact enumeration, got n={n}")
    ints = gf2.bits_to_int(bits)
    if not allow_repeated:
        uniq, _first, counts = np.unique(ints, return_index=True, return_counts=True)
        if uniq.size != m:
            dup = int(uniq[np.argmax(counts > 1)])
            rows = np.flatnonzero(ints == dup)[:2]
            raise ValueError(
                f"{name} must have distinct codewords: rows {rows[0]} and {rows[1]} are equal "
                "(pass allow_repeated=True to evaluate a degenerate codebook)"
            )
    return bits, ints


def default_labels(num_codewords: int) -> np.ndarray:
    """Labels of messages ``0..M-1`` as ``k = log2 M`` bits, most significant bit first."""
    m = int(num_codewords)
    k = m.bit_length() - 1
    if m < 2 or (1 << k) != m:
        raise ValueError(f"labels must be given when the number of codewords M={m} is not a power of 2 (>= 2)")
    return gf2.int_to_bits(np.arange(m), k)


def _validate_labels(labels: Any, m: int) -> np.ndarray:
    if labels is None:
        return default_labels(m)
    lab = gf2.as_binary_matrix(labels, "labels")
    if lab.shape[0] != m:
        raise ValueError(f"labels must have one row per codeword (M={m}), got shape {lab.shape}")
    if lab.shape[1] > MAX_ENUMERATION_BITS:
        raise ValueError(f"labels must have k <= {MAX_ENUMERATION_BITS} bits, got {lab.shape[1]}")
    if np.unique(gf2.bits_to_int(lab)).size != m:
        raise ValueError("labels must be distinct (two messages share a label)")
    return lab


# ---------------------------------------------------------------------------------- WeightPolynomial
@dataclasses.dataclass(frozen=True)
class WeightPolynomial:
    """``value(x) = sum_w counts[w] x^w (1-x)^(n-w) / denominator`` with exact integer counts.

    Stored reduced (``gcd(counts, denominator) = 1``), so ``==`` tests equality of the polynomials. ``x`` is the BSC
    crossover ``p`` (``variable="p"``, domain ``[0, 0.5]``) or the BEC erasure probability (``variable="delta"``,
    domain ``[0, 1]``); ``counts[w]`` collects the (weighted) events with ``w`` flipped/erased positions.
    """

    n: int
    counts: tuple[int, ...]
    denominator: int
    variable: str = "p"

    def __post_init__(self) -> None:
        counts = tuple(int(c) for c in self.counts)
        if len(counts) != self.n + 1:
            raise ValueError(f"counts must have n+1={self.n + 1} entries, got {len(counts)}")
        if int(self.denominator) <= 0:
            raise ValueError(f"denominator must be positive, got {self.denominator}")
        # Reduced form (gcd of counts and denominator is 1), so equal polynomials compare equal.
        g = math.gcd(int(self.denominator), *counts)
        object.__setattr__(self, "counts", tuple(c // g for c in counts))
        object.__setattr__(self, "denominator", int(self.denominator) // g)
        if self.variable not in ("p", "delta"):
            raise ValueError(f"variable must be 'p' or 'delta', got {self.variable!r}")

    @property
    def upper(self) -> float:
        return 0.5 if self.variable == "p" else 1.0

    def __call__(self, x: Any) -> Any:
        """Evaluates at scalar or array ``x`` (float64); returns a float for scalar input."""
        arr = check_probability(self.variable, x, self.upper)
        w = np.arange(self.n + 1, dtype=np.float64)
        xs = arr[..., None]
        terms = np.power(xs, w) * np.power(1.0 - xs, self.n - w)
        out = terms @ np.asarray(self.counts, dtype=np.float64) / float(self.denominator)
        return float(out) if np.ndim(out) == 0 else out

    def complement(self) -> WeightPolynomial:
        """The polynomial ``1 - value`` (uses ``sum_w C(n,w) x^w (1-x)^(n-w) = 1``)."""
        counts = [math.comb(self.n, w) * self.denominator - c for w, c in enumerate(self.counts)]
        return WeightPolynomial(self.n, tuple(counts), self.denominator, self.variable)

    def power_coefficients(self) -> list[fractions.Fraction]:
        """Exact coefficients ``a_i`` of ``value(x) = sum_i a_i x^i`` (index ``i`` = power of ``x``)."""
        coef = [0] * (self.n + 1)
        for w, c in enumerate(self.counts):
            if c:
                for j in range(self.n - w + 1):
                    coef[w + j] += c * math.comb(self.n - w, j) * (-1) ** j
        return [fractions.Fraction(a, self.denominator) for a in coef]

    def to_dict(self) -> dict[str, Any]:
        return {"n": self.n, "counts": list(self.counts), "denominator": self.denominator, "variable": self.variable}


def _failure_from_success_counts(success: np.ndarray, n: int, scale: int) -> tuple[int, ...]:
    """Failure counts ``scale*C(n,w) - success[w]`` (exact Python ints)."""
    return tuple(scale * math.comb(n, w) - int(success[w]) for w in range(n + 1))


# ----------------------------------------------------------------------------- hypercube transforms
def _distance_transform(ints: np.ndarray, n: int, with_index: bool) -> tuple[np.ndarray, np.ndarray | None]:
    """Distance from every word of ``{0,1}^n`` to the nearest codeword (and that codeword's row).

    Separable transform over positions ``0..n-1``. With ``with_index`` the pair ``(distance, row)`` is minimised
    lexicographically, so ties go to the lowest row index.
    """
    size = 1 << n
    unreached = np.uint8(64)  # > n, and 64 + n fits in uint8
    dist = np.full(size, unreached, dtype=np.uint8)
    dist[ints] = 0
    index = None
    if with_index:
        index = np.full(size, np.iinfo(np.int32).max, dtype=np.int32)
        np.minimum.at(index, ints, np.arange(ints.size, dtype=np.int32))
    for bit in range(n):
        half = 1 << bit
        d = dist.reshape(-1, 2, half)
        d0, d1 = d[:, 0, :], d[:, 1, :]
        c0 = d1 + np.uint8(1)
        c1 = d0 + np.uint8(1)
        if index is None:
            np.minimum(d0, c0, out=d0)
            np.minimum(d1, c1, out=d1)
            continue
        ix = index.reshape(-1, 2, half)
        i0, i1 = ix[:, 0, :], ix[:, 1, :]
        take0 = (c0 < d0) | ((c0 == d0) & (i1 < i0))
        take1 = (c1 < d1) | ((c1 == d1) & (i0 < i1))
        new_i0 = np.where(take0, i1, i0)
        new_i1 = np.where(take1, i0, i1)
        np.copyto(d0, c0, where=take0)
        np.copyto(d1, c1, where=take1)
        i0[...] = new_i0
        i1[...] = new_i1
    return dist, index


@functools.lru_cache(maxsize=32)
def _hadamard(bits: int, dtype: Any = np.float64) -> np.ndarray:
    h = np.ones((1, 1), dtype=dtype)
    for _ in range(bits):
        h = np.block([[h, h], [h, -h]])
    h.setflags(write=False)
    return h


def _single_thread_blas() -> Any:
    """Context limiting BLAS to one thread: the many small products below run faster that way."""
    try:
        import threadpoolctl  # a dependency of scikit-learn
    except ImportError:  # pragma: no cover
        return contextlib.nullcontext()
    return threadpoolctl.threadpool_limits(1, user_api="blas")


def _fwht(x: np.ndarray, n: int, dtype: Any = np.float64, block_bits: int = 4) -> np.ndarray:
    """Unnormalised Walsh-Hadamard transform of a length-``2^n`` vector in ``dtype``, by Kronecker-factor BLAS products.

    Exact for integer input with ``sum |x|`` at most ``2^24`` (float32) or ``2^53`` (float64).
    """
    y = np.asarray(x, dtype=dtype).reshape(-1)
    done = 0
    while done < n:
        b = min(block_bits, n - done)
        h = _hadamard(b, dtype)
        left, m, right = 1 << (n - done - b), 1 << b, 1 << done
        if right == 1:
            y = y.reshape(left, m) @ h
        elif left == 1:
            y = h @ y.reshape(m, right)
        else:
            y = np.matmul(h, y.reshape(left, m, right))
        y = y.reshape(-1)
        done += b
    return y


def _fwht_int_exact(x: np.ndarray, n: int) -> np.ndarray:
    """Exact Walsh-Hadamard transform of an int64 vector whose result fits in int64 (``n <= 24``).

    Three 21-bit limbs, each transformed exactly in float64 (partial sums below ``2^45``), recombined modulo ``2^64``.
    """
    x = np.asarray(x, dtype=np.int64)
    mask = np.int64((1 << 21) - 1)
    out = _fwht((x >> 42).astype(np.float64), n, block_bits=5).astype(np.int64)
    out = out * np.int64(1 << 21) + _fwht(((x >> 21) & mask).astype(np.float64), n, block_bits=5).astype(np.int64)
    out = out * np.int64(1 << 21) + _fwht((x & mask).astype(np.float64), n, block_bits=5).astype(np.int64)
    return out


def _weights_of_all_words(n: int) -> np.ndarray:
    return np.bitwise_count(np.arange(1 << n, dtype=np.int64)).astype(np.intp)


# ------------------------------------------------------------------------------------- ML decoding
def nearest_codeword_distances(codebook: Any, allow_repeated: bool = False) -> np.ndarray:
    """Hamming distance from each of the ``2^n`` words (by integer) to the codebook, ``uint8 [2^n]``."""
    bits, ints = validate_codebook(codebook, allow_repeated=allow_repeated)
    return _distance_transform(ints, bits.shape[1], with_index=False)[0]


def ml_decoder_table(codebook: Any, allow_repeated: bool = False) -> np.ndarray:
    """Minimum-distance (= ML on the BSC, p < 1/2) decoder table ``int64 [2^n]`` of row indices; ties -> lowest row."""
    bits, ints = validate_codebook(codebook, allow_repeated=allow_repeated)
    return _distance_transform(ints, bits.shape[1], with_index=True)[1].astype(np.int64)


def ml_bler_bsc(codebook: Any, allow_repeated: bool = False) -> WeightPolynomial:
    """Exact ML block error rate on the BSC, ``1 - (1/M) sum_y max_m P(y|x_m)`` (ties irrelevant)."""
    bits, ints = validate_codebook(codebook, allow_repeated=allow_repeated)
    m, n = bits.shape
    dist = _distance_transform(ints, n, with_index=False)[0]
    success = np.bincount(dist, minlength=n + 1)
    return WeightPolynomial(n, _failure_from_success_counts(success, n, m), m)


def decoder_decisions(
    decoder: Decoder, codebook_ints: np.ndarray, n: int, labels: np.ndarray, chunk: int = 1 << 16
) -> tuple[np.ndarray, np.ndarray]:
    """Runs a decoder on all ``2^n`` received words.

    ``decoder``: a table (``[2^n]`` row indices or ``[2^n, k]`` label bits) indexed by the received word's integer, or
    a function mapping received bits ``uint8 [B, n]`` to row indices ``[B]`` or label bits ``[B, k]`` (NumPy or JAX).
    ``codebook_ints``: ``[M]``; ``labels``: ``[M, k]``. Returns ``(rows, decided_labels)``, ``int64 [2^n]`` each: the
    decided message's row (-1 if the decided label belongs to no message) and the decided label's integer.
    """
    m = codebook_ints.size
    k = labels.shape[1]
    size = 1 << n
    if callable(decoder):
        parts = []
        for start in range(0, size, chunk):
            words = gf2.int_to_bits(np.arange(start, min(start + chunk, size)), n)
            parts.append(np.asarray(decoder(words)))
        out = np.concatenate(parts, axis=0)
    else:
        out = np.asarray(decoder)
    label_ints = gf2.bits_to_int(labels)
    if out.ndim == 1:
        if out.shape[0] != size:
            raise ValueError(f"decoder table must have 2^n={size} entries, got {out.shape[0]}")
        if not np.issubdtype(out.dtype, np.integer):
            raise ValueError(f"decoder indices must be integers, got dtype {out.dtype}")
        if out.min() < 0 or out.max() >= m:
            raise ValueError(f"decoder indices must be in [0, M-1] = [0, {m - 1}], got {out.min()}..{out.max()}")
        rows = out.astype(np.int64)
        return rows, label_ints[rows]
    if out.ndim == 2:
        if out.shape != (size, k):
            raise ValueError(f"decoder label bits must have shape (2^n, k) = {(size, k)}, got {out.shape}")
        decided = gf2.bits_to_int(gf2.as_binary_matrix(out, "decoder output"))
        lookup = np.full(1 << k, -1, dtype=np.int64)
        lookup[label_ints] = np.arange(m)
        return lookup[decided], decided
    raise ValueError(f"decoder output must have 1 (indices) or 2 (label bits) axes, got shape {out.shape}")


def decoder_bler_bsc(
    codebook: Any, decoder: Decoder, labels: Any = None, allow_repeated: bool = False
) -> WeightPolynomial:
    """Exact BLER ``1 - (1/M) sum_y P(y | x_dec(y))`` of a decoder on the BSC (``labels`` matter for label output)."""
    bits, ints = validate_codebook(codebook, allow_repeated=allow_repeated)
    m, n = bits.shape
    if labels is not None:
        lab = _validate_labels(labels, m)
    else:
        lab = default_labels(m) if _is_pow2(m) else _index_labels(m)
    rows, _ = decoder_decisions(decoder, ints, n, lab)
    words = np.arange(1 << n, dtype=np.int64)
    ok = rows >= 0
    dist = np.bitwise_count(words[ok] ^ ints[rows[ok]])
    success = np.bincount(dist, minlength=n + 1)
    return WeightPolynomial(n, _failure_from_success_counts(success, n, m), m)


def _is_pow2(m: int) -> bool:
    return m >= 2 and (m & (m - 1)) == 0


def _index_labels(m: int) -> np.ndarray:
    k = max(1, (m - 1).bit_length())
    return gf2.int_to_bits(np.arange(m), k)


def decoder_ber_bsc(
    codebook: Any, decoder: Decoder, labels: Any = None, allow_repeated: bool = False
) -> WeightPolynomial:
    """Exact BER ``(1/(kM)) sum_m sum_y P(y|x_m) d_H(u_m, u_dec(y))`` of a decoder on the BSC.

    Bit errors of error pattern ``e``: ``sum_m |u_m| + sum_y c(y+e) |u_dec(y)| - 2 sum_i sum_y a_i(y+e) b_i(y)``
    (``c`` codeword indicator, ``a_i`` codewords with label bit ``i`` = 1, ``b_i`` decided label bit ``i``), from
    ``2k + 1`` forward Walsh-Hadamard transforms and one inverse, all exact.
    """
    bits, ints = validate_codebook(codebook, allow_repeated=allow_repeated)
    m, n = bits.shape
    lab = _validate_labels(labels, m)
    k = lab.shape[1]
    _, decided = decoder_decisions(decoder, ints, n, lab)
    size = 1 << n
    with _single_thread_blas():
        # Forward transforms of 0/1 (or multiplicity) functions: sum |f| <= 2^24, exact in float32.
        c_hat = _fwht(np.bincount(ints, minlength=size), n, np.float32).astype(np.int64)
        wb_hat = np.zeros(size, dtype=np.int64)  # transform of |u_dec(y)| = sum_i b_i
        acc = np.zeros(size, dtype=np.int64)  # sum_i B_i A_i
        for i in range(k):
            shift = k - 1 - i
            a_i = np.bincount(ints, weights=lab[:, i], minlength=size)
            b_hat = _fwht((decided >> shift) & 1, n, np.float32).astype(np.int64)
            wb_hat += b_hat
            acc += b_hat * _fwht(a_i, n, np.float32).astype(np.int64)
        acc = c_hat * wb_hat - 2 * acc
        del c_hat, wb_hat, b_hat
        corr = _fwht_int_exact(acc, n)
    if np.any(corr & np.int64(size - 1)):
        raise RuntimeError("internal error: Walsh-Hadamard correlation is not a multiple of 2^n")
    corr >>= n
    weights = _weights_of_all_words(n)
    per_weight = np.bincount(weights, weights=corr.astype(np.float64), minlength=n + 1)
    total_label_weight = int(lab.sum())
    counts = tuple(math.comb(n, w) * total_label_weight + round(per_weight[w]) for w in range(n + 1))
    return WeightPolynomial(n, counts, k * m)


def ml_ber_bsc(codebook: Any, labels: Any = None, allow_repeated: bool = False) -> WeightPolynomial:
    """Exact BER of the minimum-distance decoder (ties -> lowest row index) on the BSC."""
    table = ml_decoder_table(codebook, allow_repeated=allow_repeated)
    return decoder_ber_bsc(codebook, table, labels, allow_repeated=allow_repeated)


@dataclasses.dataclass(frozen=True)
class BSCEvaluation:
    """Exact BSC error rates of one codebook and decoder (all :class:`WeightPolynomial`)."""

    ml_bler: WeightPolynomial
    bler: WeightPolynomial
    ber: WeightPolynomial

    def at(self, p: Any) -> dict[str, Any]:
        """Values at ``p`` (scalar or array): ``{"p", "ml_bler", "bler", "ber"}``."""
        return {"p": p, "ml_bler": self.ml_bler(p), "bler": self.bler(p), "ber": self.ber(p)}


def evaluate_bsc(
    codebook: Any, decoder: Decoder | None = None, labels: Any = None, allow_repeated: bool = False
) -> BSCEvaluation:
    """ML BLER, and BLER and BER of ``decoder`` (the ML table with lowest-index ties if None)."""
    if decoder is None:
        decoder = ml_decoder_table(codebook, allow_repeated=allow_repeated)
    return BSCEvaluation(
        ml_bler=ml_bler_bsc(codebook, allow_repeated=allow_repeated),
        bler=decoder_bler_bsc(codebook, decoder, labels, allow_repeated=allow_repeated),
        ber=decoder_ber_bsc(codebook, decoder, labels, allow_repeated=allow_repeated),
    )


# ------------------------------------------------------------------------ linear codes: fast formulas
def _as_decoder(code: LinearCode | SyndromeDecoder) -> SyndromeDecoder:
    if isinstance(code, SyndromeDecoder):
        return code
    if isinstance(code, LinearCode):
        return SyndromeDecoder(code)
    raise ValueError(f"code must be a LinearCode or SyndromeDecoder, got {type(code).__name__}")


def syndrome_bler_bsc(code: LinearCode | SyndromeDecoder) -> WeightPolynomial:
    """BLER of syndrome (= ML) decoding, ``1 - sum_i alpha_i p^i (1-p)^(n-i)``, ``alpha_i`` = coset leaders of weight
    ``i`` (coding-anchors 2.2)."""
    dec = _as_decoder(code)
    n = dec.code.n
    return WeightPolynomial(n, _failure_from_success_counts(dec.leader_weight_distribution, n, 1), 1)


def syndrome_ber_bsc(code: LinearCode | SyndromeDecoder, codeword_bits: bool = False) -> WeightPolynomial:
    """BER of syndrome decoding with the code's own labelling (``c = u G``), exact for any ``n`` the syndrome table
    allows (``n - k <= 20``), in ``O(k 2^(n-k) n)``.

    Decoding is translation invariant: error ``e`` with syndrome ``s`` leaves the codeword error ``e + leader(s)``,
    so message bit ``t`` is wrong iff ``f_t(e) != f_t(leader(s))`` for the linear functional ``f_t`` (word ->
    message bit ``t``). The number of ``e`` of weight ``w`` with augmented syndrome ``(s, f_t(e))`` is the inverse
    Walsh-Hadamard transform of the Krawtchouk values ``K_w(wt(sigma H'))`` over the dual words of ``H' = [H; f_t]``
    (MacWilliams), so bit ``t`` costs one transform of size ``2^(n-k+1)``; integers throughout.
    ``codeword_bits=True`` counts errors over the ``n`` codeword bits instead of the ``k`` message bits.
    """
    dec = _as_decoder(code)
    n, k = dec.code.n, dec.code.k
    r = n - k
    if r + 1 > MAX_ENUMERATION_BITS:
        raise ValueError(f"n - k must be < {MAX_ENUMERATION_BITS} for the BER transform, got {r}")
    h_rows = gf2.bits_to_int(dec.code.parity_check).astype(np.int64)
    dual_words = _xor_map_table(h_rows, r).astype(np.int64)  # sigma H for every sigma (first row = MSB)
    leader_bits = dec.leaders.astype(np.int64)  # [2^r, n]
    if codeword_bits:
        functionals = [np.int64(1) << (n - 1 - t) for t in range(n)]
        leader_values = [leader_bits[:, t] for t in range(n)]
        denominator = n
    else:
        unit_msgs = dec._message_of_units().astype(np.int64)  # message of each unit vector
        functionals = [gf2.bits_to_int(((unit_msgs >> (k - 1 - t)) & 1).astype(np.uint8)[None])[0] for t in range(k)]
        leader_msgs = np.bitwise_xor.reduce(np.where(dec.leaders.astype(bool), unit_msgs[None, :], 0), axis=1)
        leader_values = [(leader_msgs >> (k - 1 - t)) & 1 for t in range(k)]
        denominator = k
    kraw = krawtchouk_table(n)
    syndromes = np.arange(1 << r, dtype=np.int64)
    total = np.zeros(n + 1, dtype=object)
    # |g_hat| <= 2^r, so int64 sums of 2^(r+1) products are exact below this bound (else Python integers).
    exact_int64 = (1 << r) * int(np.abs(kraw).max()) * (2 << r) < (1 << 62)
    for f, lv in zip(functionals, leader_values):
        # Augmented index sigma' = 2 sigma + b (the functional is the last, least significant row of H').
        a = np.empty(2 << r, dtype=np.int64)
        a[0::2] = np.bitwise_count(dual_words)
        a[1::2] = np.bitwise_count(dual_words ^ np.int64(f))
        wrong = np.zeros(2 << r, dtype=np.int64)
        wrong[2 * syndromes + (1 - lv)] = 1  # (s, f_t(e)) with f_t(e) != f_t(leader(s))
        g_hat = _fwht_int_exact(wrong, r + 1)
        if exact_int64:
            total += (g_hat @ kraw[a]).astype(object)
        else:
            total += (g_hat.astype(object)[:, None] * kraw[a].astype(object)).sum(axis=0)
    scale = 2 << r
    if any(int(c) % scale for c in total):  # pragma: no cover - the transform is exact
        raise ArithmeticError("BER transform is not integral")
    return WeightPolynomial(n, tuple(int(c) // scale for c in total), denominator)


# ------------------------------------------------------------------------------------------- BEC
def _affine_kernel(bits: np.ndarray, ints: np.ndarray) -> np.ndarray | None:
    """Integers of the linear code ``L`` if the codebook is a coset ``x_0 + L``, else None."""
    m = ints.size
    if not _is_pow2(m) and m != 1:
        return None
    shifted = bits ^ bits[0]
    r = gf2.rank(shifted, "codebook") if m > 1 else 0
    if (1 << r) != m:
        return None
    return ints ^ ints[0]


def ml_bler_bec(
    codebook: Any, guess: str = "uniform", allow_repeated: bool = False, method: str = "auto", max_work: int = 1 << 31
) -> WeightPolynomial:
    """Exact ML block error rate on the BEC(delta), as a polynomial in ``delta``.

    ``codebook``: ``[M, n]`` bits, ``n <= 24``; ``guess``: ``"uniform"`` or ``"failure"`` (module docstring).
    ``method``: ``"linear"`` (codebook a coset of a linear code; consistent codewords counted by one subset-sum
    transform over erasure patterns, ``O(n 2^n)``), ``"enumerate"`` (sort the ``M`` projections for each of the
    ``2^n`` erasure patterns, ``O(M 2^n log M)``; refused when ``M 2^n > max_work``), or ``"auto"`` (linear when
    possible).
    """
    if guess not in BEC_GUESS_OPTIONS:
        raise ValueError(f"guess must be one of {BEC_GUESS_OPTIONS}, got {guess!r}")
    if method not in ("auto", "linear", "enumerate"):
        raise ValueError(f"method must be 'auto', 'linear' or 'enumerate', got {method!r}")
    bits, ints = validate_codebook(codebook, allow_repeated=allow_repeated)
    m, n = bits.shape
    size = 1 << n
    weights = _weights_of_all_words(n)
    kernel = None
    if method != "enumerate" and not allow_repeated:
        kernel = _affine_kernel(bits, ints)
        if kernel is None and method == "linear":
            raise ValueError("codebook must be a coset of a linear code for method='linear'")
    if kernel is not None:
        inside = np.zeros(size, dtype=np.int64)
        inside[kernel] = 1
        for bit in range(n):  # subset-sum (zeta) transform: inside[E] = #{x in L : supp(x) within E}
            view = inside.reshape(-1, 2, 1 << bit)
            view[:, 1, :] += view[:, 0, :]
        if guess == "failure":
            fail = np.bincount(weights, weights=(inside > 1).astype(np.float64), minlength=n + 1)
            return WeightPolynomial(n, tuple(round(v) for v in fail), 1, "delta")
        fail = np.bincount(weights, weights=(m - m // inside).astype(np.float64), minlength=n + 1)
        return WeightPolynomial(n, tuple(round(v) for v in fail), m, "delta")
    if m * size > max_work:
        raise ValueError(
            f"codebook too large for BEC enumeration: M*2^n = {m * size} > max_work={max_work} "
            "(use monte_carlo, or a coset of a linear code)"
        )
    full = np.int64(size - 1)
    fail = np.zeros(n + 1, dtype=np.int64)
    step = max(1, (1 << 22) // m)
    for start in range(0, size, step):
        erased = np.arange(start, min(start + step, size), dtype=np.int64)
        proj = np.sort(ints[None, :] & (full ^ erased)[:, None], axis=1)
        differs = proj[:, 1:] != proj[:, :-1]
        if guess == "uniform":
            good = 1 + differs.sum(axis=1)  # number of distinct projections = sum_m 1/c_m
        else:
            edge = np.ones((erased.size, 1), dtype=bool)
            good = (np.concatenate([edge, differs], 1) & np.concatenate([differs, edge], 1)).sum(axis=1)
        fail += (
            np.bincount(weights[start : start + erased.size], weights=(m - good).astype(np.float64), minlength=n + 1)
            .round()
            .astype(np.int64)
        )
    return WeightPolynomial(n, tuple(int(v) for v in fail), m, "delta")


# ------------------------------------------------------------------------------------ closed forms
def uncoded_bler(k: int, p: Any) -> Any:
    """Block error rate ``1 - (1-p)^k`` of ``k`` uncoded bits on the BSC (BER is ``p``)."""
    p = check_probability("p", p)
    out = -np.expm1(k * np.log1p(-p))
    return float(out) if np.ndim(out) == 0 else out


def bounded_distance_bler(n: int, t: int, p: Any) -> Any:
    """``1 - sum_{i<=t} C(n,i) p^i (1-p)^(n-i)``: ML BLER of a perfect t-error-correcting code."""
    p = check_probability("p", p)
    i = np.arange(t + 1, n + 1, dtype=np.float64)
    comb = np.array([math.comb(n, int(j)) for j in i], dtype=np.float64)
    out = (comb * np.power(p[..., None], i) * np.power(1.0 - p[..., None], n - i)).sum(axis=-1)
    return float(out) if np.ndim(out) == 0 else out


def hamming_ber(r: int, p: Any) -> Any:
    """Closed-form BER of Hamming(2^r-1) syndrome decoding (coding-anchors Sec. 2.3):
    ``P_b = p + [q - N q^(N-1) + (N-1) q^(N+1)] / (n+1)`` with ``q = 1-2p``, ``N = (n+1)/2``."""
    p = check_probability("p", p)
    n = (1 << r) - 1
    big_n = (n + 1) // 2
    q = 1.0 - 2.0 * p
    out = p + (q - big_n * q ** (big_n - 1) + (big_n - 1) * q ** (big_n + 1)) / (n + 1)
    return float(out) if np.ndim(out) == 0 else out


# ------------------------------------------------------------------------------------- Monte Carlo
def wilson_interval(successes: int, trials: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion."""
    if trials <= 0:
        return 0.0, 1.0
    z = float(stats.norm.isf((1.0 - confidence) / 2.0))
    phat = successes / trials
    denom = 1.0 + z * z / trials
    centre = (phat + z * z / (2 * trials)) / denom
    half = z * math.sqrt(phat * (1 - phat) / trials + z * z / (4 * trials * trials)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def clopper_pearson_interval(successes: float, trials: int, confidence: float = 0.95) -> tuple[float, float]:
    """Exact (Clopper-Pearson) binomial interval (Beta quantiles). ``successes`` may be a real number in
    ``[0, trials]`` (a sum of per-trial fractions, as the block-level BER interval of ``codes.awgn`` uses)."""
    if trials <= 0:
        return 0.0, 1.0
    x = float(successes)
    alpha = 1.0 - confidence
    lo = 0.0 if x <= 0.0 else float(stats.beta.ppf(alpha / 2, x, trials - x + 1))
    hi = 1.0 if x >= trials else float(stats.beta.ppf(1 - alpha / 2, x + 1, trials - x))
    return lo, hi


@dataclasses.dataclass(frozen=True)
class MonteCarloResult:
    """Counts of a Monte Carlo run. ``ber_wilson`` treats bits as independent (approximate)."""

    blocks: int
    block_errors: int
    bit_errors: int
    bits_per_block: int
    confidence: float
    stopped_by: str

    @property
    def bler(self) -> float:
        return self.block_errors / self.blocks if self.blocks else float("nan")

    @property
    def ber(self) -> float:
        total = self.blocks * self.bits_per_block
        return self.bit_errors / total if total else float("nan")

    @property
    def bler_wilson(self) -> tuple[float, float]:
        return wilson_interval(self.block_errors, self.blocks, self.confidence)

    @property
    def bler_clopper_pearson(self) -> tuple[float, float]:
        return clopper_pearson_interval(self.block_errors, self.blocks, self.confidence)

    @property
    def ber_wilson(self) -> tuple[float, float]:
        return wilson_interval(self.bit_errors, self.blocks * self.bits_per_block, self.confidence)

    def to_dict(self) -> dict[str, Any]:
        return {
            "blocks": self.blocks,
            "block_errors": self.block_errors,
            "bit_errors": self.bit_errors,
            "bler": self.bler,
            "ber": self.ber,
            "bler_wilson": list(self.bler_wilson),
            "bler_clopper_pearson": list(self.bler_clopper_pearson),
            "ber_wilson": list(self.ber_wilson),
            "confidence": self.confidence,
            "stopped_by": self.stopped_by,
        }


def monte_carlo(
    encode: Callable[[jax.Array], jax.Array],
    decode: Callable[[jax.Array], jax.Array],
    k: int,
    eps: float,
    key: Any,
    channel: str | Callable = "bsc",
    target_block_errors: int = 100,
    max_blocks: int = 1_000_000,
    batch_size: int = 10_000,
    confidence: float = 0.95,
) -> MonteCarloResult:
    """Monte Carlo BLER/BER of an encoder/decoder pair over a channel.

    Each batch draws uniform ``k``-bit messages, encodes (``encode: uint8 [B, k] -> [B, n]``), sends them through
    the channel and decodes (``decode: [B, n] -> uint8 [B, k]`` message bits). Stops after the batch in which block
    errors reach ``target_block_errors``, or at exactly ``max_blocks`` blocks (the last batch is shortened).
    ``eps``: BSC crossover or BEC erasure probability; ``key``: a ``jax.random.key`` or an integer seed; ``channel``:
    ``"bsc"``, ``"bec"`` (erasure symbol 2, as in :mod:`neuralcodes_jax.channels`) or ``(key, codewords, eps) ->
    received``.
    """
    if channel == "bsc":
        check_probability("eps", eps, 0.5)
        send = channels.bsc
    elif channel == "bec":
        check_probability("eps", eps, 1.0)
        send = channels.bec
    elif callable(channel):
        send = channel
    else:
        raise ValueError(f"channel must be 'bsc', 'bec' or a callable, got {channel!r}")
    for name, value in (
        ("k", k),
        ("target_block_errors", target_block_errors),
        ("max_blocks", max_blocks),
        ("batch_size", batch_size),
    ):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    if not isinstance(key, jax.Array):
        key = jax.random.key(int(key))
    blocks = block_errors = bit_errors = 0
    while True:
        size = min(batch_size, max_blocks - blocks)
        key, k_msg, k_chan = jax.random.split(key, 3)
        messages = jax.random.bernoulli(k_msg, 0.5, (size, k)).astype(jnp.uint8)
        received = send(k_chan, encode(messages), eps)
        decoded = jnp.asarray(decode(received))
        if decoded.shape != messages.shape:
            raise ValueError(f"decode must return message bits of shape {messages.shape}, got {decoded.shape}")
        wrong = decoded.astype(jnp.uint8) != messages
        block_errors += int(jnp.sum(jnp.any(wrong, axis=-1)))
        bit_errors += int(jnp.sum(wrong))
        blocks += size
        if block_errors >= target_block_errors:
            stopped = "target_block_errors"
            break
        if blocks >= max_blocks:
            stopped = "max_blocks"
            break
    return MonteCarloResult(blocks, block_errors, bit_errors, int(k), confidence, stopped)
