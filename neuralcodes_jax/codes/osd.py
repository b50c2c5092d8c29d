"""Ordered-statistics decoding (OSD) and soft maximum-likelihood decoding of binary linear codes, in JAX.

Both decoders take channel LLRs ``L = log P(x=0|y) / P(x=1|y)`` ``[B, n]`` (``codes.ldpc.channel_llr``; AWGN with
BPSK ``0 -> +1`` gives ``L = 2 y / sigma^2``) and maximise the correlation ``sum_j (1 - 2 c_j) L_j`` over the
candidate codewords ``c``, which is ML on any memoryless binary-input channel. Equivalently they minimise the
correlation discrepancy ``sum_{j: c_j != z_j} |L_j|`` with ``z`` the hard decisions (``z_j = 1`` iff ``L_j < 0``);
the two differ by the constant ``sum_j |L_j|`` (Fossorier & Lin 1995, Sec. II, eq. 4-6).

:func:`ml_decode` lists all ``2^k`` codewords (``k <= 16``), in chunks of codewords, batched over words.

:func:`osd_decode` (Fossorier & Lin, "Soft-decision decoding of linear block codes based on ordered statistics",
IEEE Trans. IT 41(5), 1995, Sec. III): sort the positions by decreasing reliability ``|L_j|``; Gauss-Jordan
elimination over GF(2) of the permuted generator finds the most reliable basis (MRB), the first ``k`` independent
positions, and a generator ``R`` whose row ``p`` is a unit vector on the MRB (pivot of row ``p``). Order 0 re-encodes
the hard decisions on the MRB: ``c0 = z[MRB] R``. Order ``i`` also tries every test error pattern of weight
``<= i`` on the MRB, ``c = c0 + sum_{p in S} R_p`` with ``|S| <= i``, and keeps the candidate of largest correlation.

Evaluation (``k`` up to 64 and order 3 is ``sum_{i <= 3} C(64, i) = 43745`` patterns per word): with
``w_j = |L_j| (-1)^{(c0 + z)_j}`` and ``s_p = 1 - 2 R_p`` (as +-1), the correlation of the candidate of ``S`` is
``sum_j w_j prod_{p in S} s_pj``. So order 1 is ``s w`` (``[k]``), order 2 the matrix ``s diag(w) s^T`` (``[k, k]``,
``p < q``) and order 3, one slice per first index ``p``, ``s diag(w s_p) s^T`` (``q, r > p``): matrix products instead
of re-encoding every pattern, and memory ``[k, k]`` per word. Ties keep the lowest order, then the first pattern in
(row) index order. The elimination works on rows packed into 32-bit words (one ``lax.fori_loop`` step per pivot:
OR of the unused rows, leading one, row XORs); words are processed ``batch_size`` at a time (``lax.map``).

Outputs: :class:`SoftDecision` ``(codewords [B, n] uint8, messages [B, k] uint8, correlation [B] float32)``, the
messages ``u`` with ``c = u G`` for the code's generator ``G`` (``LinearCode.unencode``).
"""

from __future__ import annotations

import functools
import math
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from neuralcodes_jax.codes import gf2
from neuralcodes_jax.codes.linear import LinearCode
from neuralcodes_jax.config_utils import check_int as _check_int

__all__ = ["SoftDecision", "osd_decode", "ml_decode", "osd_num_patterns", "MAX_OSD_ORDER", "MAX_ML_DIMENSION"]

#: Largest OSD order implemented.
MAX_OSD_ORDER = 3
#: Largest code dimension ``k`` for :func:`ml_decode` (lists ``2^k`` codewords).
MAX_ML_DIMENSION = 16

_HI = jax.lax.Precision.HIGHEST


class SoftDecision(NamedTuple):
    """Decoder output: ``codewords [B, n] uint8``, ``messages [B, k] uint8`` (``c = u G``), ``correlation [B]``
    float32 ``sum_j (1 - 2 c_j) L_j`` of the decision (as computed by the decoder, in float32)."""

    codewords: jax.Array
    messages: jax.Array
    correlation: jax.Array


def osd_num_patterns(k: int, order: int) -> int:
    """Number of test error patterns of OSD-``order`` with ``k`` MRB positions, ``sum_{i <= order} C(k, i)``."""
    return sum(math.comb(k, i) for i in range(order + 1))


def _as_code(code_or_generator: Any) -> LinearCode:
    if isinstance(code_or_generator, LinearCode):
        return code_or_generator
    if hasattr(code_or_generator, "generator"):  # e.g. codes.ldpc.LdpcCode
        return LinearCode.from_generator(np.asarray(code_or_generator.generator))
    return LinearCode.from_generator(code_or_generator)


def _check_llr(llr: Any, n: int) -> Any:
    if not isinstance(llr, jax.core.Tracer):
        arr = np.asarray(llr)
        if arr.dtype.kind not in "iuf":
            raise ValueError(f"llr must hold real numbers, got dtype {arr.dtype}")
        if not np.all(np.isfinite(arr)):
            raise ValueError("llr must be finite (no NaN or +-inf); clip infinite LLRs to a large finite value")
        llr = arr
    if llr.ndim != 2 or llr.shape[1] != n:
        raise ValueError(f"llr must have shape [B, n] with n={n}, got {tuple(llr.shape)}")
    if llr.shape[0] < 1:
        raise ValueError("llr must hold at least one word (B >= 1)")
    return jnp.asarray(llr, jnp.float32)


def _messages(code: LinearCode, codewords: jax.Array) -> jax.Array:
    info = jnp.asarray(code.information_set, jnp.int32)
    inv = jnp.asarray(code._information_inverse, jnp.int32)
    bits = jnp.take(codewords, info, axis=-1).astype(jnp.int32)
    return (jnp.matmul(bits, inv) & 1).astype(jnp.uint8)


# ---------------------------------------------------------------------------------------------------- OSD
def _pack(bits: jax.Array, words: int) -> jax.Array:
    """``[k, n]`` 0/1 -> ``[k, words]`` uint32, column ``j`` at bit ``31 - j % 32`` of word ``j // 32``."""
    k, n = bits.shape
    padded = jnp.pad(bits.astype(jnp.uint32), ((0, 0), (0, 32 * words - n)))
    shifts = jnp.arange(31, -1, -1, dtype=jnp.uint32)
    return jnp.sum(padded.reshape(k, words, 32) << shifts, axis=-1, dtype=jnp.uint32)


def _unpack(packed: jax.Array, n: int) -> jax.Array:
    shifts = jnp.arange(31, -1, -1, dtype=jnp.uint32)
    bits = (packed[..., None] >> shifts) & jnp.uint32(1)
    return bits.reshape(packed.shape[0], -1)[:, :n].astype(jnp.uint8)


def _eliminate(packed: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Gauss-Jordan elimination of a full-rank ``[k, W]`` packed matrix, pivots chosen left to right.

    Step ``i`` takes the first column holding a one in a row not yet used as a pivot row, and the first such row
    ``p``, then clears that column in every other row. Returns the reduced rows and ``pivot [k]`` (the column of
    row ``p``'s unit; the ``k`` pivots are the first ``k`` independent columns).
    """
    k = packed.shape[0]
    rows_idx = jnp.arange(k)

    def step(_: Any, carry: tuple[jax.Array, jax.Array, jax.Array]) -> tuple[jax.Array, jax.Array, jax.Array]:
        rows, unused, pivot = carry
        free = jnp.where(unused[:, None], rows, jnp.uint32(0))
        any_bits = jax.lax.reduce(free, np.uint32(0), jax.lax.bitwise_or, (0,))  # [W]
        w = jnp.argmax(any_bits != 0)
        shift = jax.lax.clz(any_bits[w])
        col = w * 32 + shift.astype(jnp.int32)
        has = ((rows[:, w] >> (jnp.uint32(31) - shift.astype(jnp.uint32))) & jnp.uint32(1)) == 1  # [k]
        p = jnp.argmax(has & unused)
        clear = has & (rows_idx != p)
        rows = rows ^ jnp.where(clear[:, None], rows[p][None, :], jnp.uint32(0))
        return rows, unused.at[p].set(False), pivot.at[p].set(col)

    init = (packed, jnp.ones(k, dtype=bool), jnp.zeros(k, dtype=jnp.int32))
    rows, _, pivot = jax.lax.fori_loop(0, k, step, init)
    return rows, pivot


def _osd_one(llr: jax.Array, generator: jax.Array, order: int) -> tuple[jax.Array, jax.Array]:
    """OSD of one word ``llr [n]`` (module docstring): ``(codeword [n] uint8, correlation)``."""
    k, n = generator.shape
    words = -(-n // 32)
    rel = jnp.abs(llr)
    perm = jnp.argsort(-rel, stable=True)  # most reliable first
    rel_s = rel[perm]
    hard_s = (llr[perm] < 0).astype(jnp.int32)
    rows, pivot = _eliminate(_pack(jnp.take(generator, perm, axis=1), words))
    r = _unpack(rows, n).astype(jnp.int32)  # [k, n], row p is the unit at pivot[p]
    c0 = jnp.sum(hard_s[pivot][:, None] * r, axis=0) & 1
    w = rel_s * (1 - 2 * (c0 ^ hard_s)).astype(jnp.float32)
    s = (1 - 2 * r).astype(jnp.float32)  # [k, n] +-1
    best = jnp.sum(w)
    flips = jnp.zeros(k, jnp.int32)
    idx = jnp.arange(k)
    neg = jnp.float32(-jnp.inf)
    if order >= 1:
        m1 = jnp.matmul(s, w, precision=_HI)
        p = jnp.argmax(m1)
        better = m1[p] > best
        best = jnp.where(better, m1[p], best)
        flips = jnp.where(better, (idx == p).astype(jnp.int32), flips)
    if order >= 2:
        m2 = jnp.matmul(s * w, s.T, precision=_HI)
        m2 = jnp.where(idx[:, None] < idx[None, :], m2, neg)
        flat = jnp.argmax(m2)
        p, q = flat // k, flat % k
        better = m2[p, q] > best
        best = jnp.where(better, m2[p, q], best)
        flips = jnp.where(better, ((idx == p) | (idx == q)).astype(jnp.int32), flips)
    if order >= 3:
        upper = idx[:, None] < idx[None, :]

        def slice3(p: jax.Array, carry: tuple[jax.Array, jax.Array]) -> tuple[jax.Array, jax.Array]:
            best, flips = carry
            m3 = jnp.matmul(s * (w * s[p]), s.T, precision=_HI)
            m3 = jnp.where(upper & (idx[:, None] > p), m3, neg)
            flat = jnp.argmax(m3)
            q, t = flat // k, flat % k
            better = m3[q, t] > best
            best = jnp.where(better, m3[q, t], best)
            flips = jnp.where(better, ((idx == p) | (idx == q) | (idx == t)).astype(jnp.int32), flips)
            return best, flips

        best, flips = jax.lax.fori_loop(0, k - 2, slice3, (best, flips))
    c_s = (c0 + jnp.sum(flips[:, None] * r, axis=0)) & 1
    codeword = jnp.zeros(n, jnp.uint8).at[perm].set(c_s.astype(jnp.uint8), unique_indices=True)
    return codeword, best


@functools.partial(jax.jit, static_argnames=("order", "batch_size"))
def _osd_batch(llr: jax.Array, generator: jax.Array, order: int, batch_size: int) -> tuple[jax.Array, jax.Array]:
    one = functools.partial(_osd_one, generator=generator, order=order)
    return jax.lax.map(lambda x: one(x), llr, batch_size=min(batch_size, llr.shape[0]))


def osd_decode(code: Any, llr: Any, *, order: int = 2, batch_size: int = 256) -> SoftDecision:
    """Ordered-statistics decoding of order ``order`` (Fossorier & Lin 1995; module docstring).

    Args:
      code: a :class:`~neuralcodes_jax.codes.linear.LinearCode` or a full-rank generator ``[k, n]`` (0/1); an
        object with a ``generator`` attribute (e.g. ``codes.ldpc.LdpcCode``) is also accepted.
      llr: ``[B, n]`` channel LLRs ``log P(x=0|y) / P(x=1|y)``, finite (NumPy or JAX; traced inside ``jit`` too, where
        the finiteness check is skipped).
      order: 0..3 and ``<= k``; OSD-``order`` tries :func:`osd_num_patterns` ``(k, order)`` candidates per word. With
        ``order == k`` every codeword is a candidate: ML decoding.
      batch_size: words decoded together (vectorised); bounds memory (order 3 holds ``[batch_size, k, k]`` floats).

    Returns:
      :class:`SoftDecision` (JAX arrays). Compiles once per code shape, ``order``, ``batch_size`` and ``B``.

    Raises:
      ValueError: bad generator, ``order`` outside ``0..min(3, k)``, ``llr`` not finite or not ``[B, n]``.
    """
    code = _as_code(code)
    order = _check_int("order", order, 0, MAX_OSD_ORDER)
    if order > code.k:
        raise ValueError(f"order must be <= k={code.k} (the MRB has k positions), got {order}")
    batch_size = _check_int("batch_size", batch_size, 1)
    llr = _check_llr(llr, code.n)
    codewords, corr = _osd_batch(llr, jnp.asarray(code.generator), order, batch_size)
    return SoftDecision(codewords, _messages(code, codewords), corr)


# ------------------------------------------------------------------------------------------ soft ML decoding
@functools.partial(jax.jit, static_argnames=("batch_size",))
def _ml_batch(llr: jax.Array, signs: jax.Array, batch_size: int) -> tuple[jax.Array, jax.Array]:
    """Best correlation and codeword index per word; ``signs [C, chunk, n]``: +-1 codewords (padded with codeword 0)."""
    chunks, chunk, _ = signs.shape

    def one_batch(x: jax.Array) -> tuple[jax.Array, jax.Array]:  # x [n]
        def body(i: jax.Array, carry: tuple[jax.Array, jax.Array]) -> tuple[jax.Array, jax.Array]:
            best, arg = carry
            corr = jnp.matmul(signs[i], x, precision=_HI)  # [chunk]
            j = jnp.argmax(corr)
            better = corr[j] > best
            return jnp.where(better, corr[j], best), jnp.where(better, i * chunk + j, arg)

        return jax.lax.fori_loop(0, chunks, body, (jnp.float32(-jnp.inf), jnp.int32(0)))

    return jax.lax.map(one_batch, llr, batch_size=min(batch_size, llr.shape[0]))


@functools.lru_cache(maxsize=16)
def _codeword_signs(generator_bytes: bytes, k: int, n: int, chunk: int) -> tuple[np.ndarray, np.ndarray]:
    g = np.frombuffer(generator_bytes, dtype=np.uint8).reshape(k, n)
    words = gf2.matmul(gf2.int_to_bits(np.arange(1 << k), k), g)
    total = words.shape[0]
    chunk = min(chunk, total)
    pad = -total % chunk
    signs = (1.0 - 2.0 * np.concatenate([words, np.repeat(words[:1], pad, axis=0)])).astype(np.float32)
    return words, signs.reshape(-1, chunk, n)


def ml_decode(code: Any, llr: Any, *, chunk: int = 4096, batch_size: int = 64) -> SoftDecision:
    """Soft maximum-likelihood decoding by correlation with all ``2^k`` codewords (``k <= 16``).

    Returns the codeword maximising ``sum_j (1 - 2 c_j) L_j`` (ties: the smallest message integer, codeword ``i``
    encoding the most-significant-bit-first label of ``i``). ``chunk`` codewords are correlated at a time and
    ``batch_size`` words together, so memory is ``O(batch_size * chunk)`` besides the ``2^k x n`` codebook.

    Args:
      code: a :class:`~neuralcodes_jax.codes.linear.LinearCode` or a full-rank generator ``[k, n]``.
      llr: ``[B, n]`` finite channel LLRs ``log P(x=0|y) / P(x=1|y)``.

    Raises:
      ValueError: ``k > 16``, bad generator, ``llr`` not finite or not ``[B, n]``, bad ``chunk`` / ``batch_size``.
    """
    code = _as_code(code)
    if code.k > MAX_ML_DIMENSION:
        raise ValueError(
            f"code.k must be <= {MAX_ML_DIMENSION} for ML decoding by listing 2^k codewords, got "
            f"k={code.k} (use osd_decode)"
        )
    chunk = _check_int("chunk", chunk, 1)
    batch_size = _check_int("batch_size", batch_size, 1)
    llr = _check_llr(llr, code.n)
    words, signs = _codeword_signs(code.generator.tobytes(), code.k, code.n, chunk)
    corr, index = _ml_batch(llr, jnp.asarray(signs), batch_size)
    codewords = jnp.take(jnp.asarray(words), index, axis=0)
    messages = ((index[:, None] >> jnp.arange(code.k - 1, -1, -1)) & 1).astype(jnp.uint8)
    return SoftDecision(codewords, messages, corr)
