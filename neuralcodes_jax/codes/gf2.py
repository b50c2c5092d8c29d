"""Exact linear algebra over GF(2) on NumPy ``uint8`` arrays, and bit-vector <-> integer helpers.

All functions take 0/1 matrices (any integer, bool or float dtype whose entries are exactly 0 or 1)
and return ``uint8`` arrays. Nothing is approximated: row reduction is Gauss-Jordan elimination with
XOR row operations.

Conventions
-----------
* A matrix ``a`` of shape ``[rows, cols]``; vectors are rows. A generator ``G`` is ``[k, n]`` and a
  parity-check matrix ``H`` is ``[n - k, n]`` with ``G H^T = 0``.
* Integers <-> bit vectors are **most significant bit first**: the bit vector ``b[0..n-1]`` stands
  for the integer ``sum_j b[j] 2^(n-1-j)``. The same convention is used for syndromes, messages
  and received words throughout :mod:`neuralcodes_jax.codes`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = [
    "as_binary_matrix",
    "as_bits",
    "bits_to_int",
    "int_to_bits",
    "matmul",
    "row_reduce",
    "rank",
    "systematic_form",
    "null_space",
    "inverse",
    "generator_to_parity_check",
    "parity_check_to_generator",
    "popcount",
]


def as_bits(a: Any, name: str = "bits") -> np.ndarray:
    """Returns ``a`` (at least one axis, any shape) as a ``uint8`` array of 0/1 entries.

    Raises:
      ValueError: naming ``name`` if ``a`` is a scalar or holds entries other than 0 and 1.
    """
    arr = np.asarray(a)
    if arr.ndim == 0:
        raise ValueError(f"{name} must have at least one axis, got a scalar")
    return as_binary_matrix(arr, name, arr.ndim, allow_empty=True)


def as_binary_matrix(a: Any, name: str = "matrix", ndim: int = 2, allow_empty: bool = False) -> np.ndarray:
    """Returns ``a`` as a ``uint8`` array of 0/1 entries with ``ndim`` axes.

    Raises:
      ValueError: naming ``name`` if ``a`` has the wrong number of axes, is empty along an axis,
        or holds entries other than 0 and 1.
    """
    arr = np.asarray(a)
    if arr.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} axes, got shape {arr.shape}")
    if arr.size == 0 and not allow_empty:
        raise ValueError(f"{name} must not be empty, got shape {arr.shape}")
    if arr.dtype == np.bool_:
        return arr.astype(np.uint8)
    if not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
        raise ValueError(f"{name} must hold 0/1 numbers, got dtype {arr.dtype}")
    bad = (arr != 0) & (arr != 1)
    if np.any(bad):
        value = arr[bad].flat[0]
        raise ValueError(f"{name} must be binary (entries in {{0, 1}}), got an entry {value!r}")
    return arr.astype(np.uint8)


def bits_to_int(bits: Any) -> np.ndarray:
    """Integers of bit vectors along the last axis, most significant bit first (``n <= 62``)."""
    bits = np.asarray(bits)
    n = bits.shape[-1]
    if n > 62:
        raise ValueError(f"bits must have at most 62 positions to fit an int64, got {n}")
    weights = np.left_shift(np.int64(1), np.arange(n - 1, -1, -1, dtype=np.int64))
    return (bits.astype(np.int64) * weights).sum(axis=-1)


def int_to_bits(values: Any, n: int) -> np.ndarray:
    """Bit vectors (``uint8``, most significant bit first) of non-negative integers, new last axis n."""
    if not 0 <= int(n) <= 62:
        raise ValueError(f"n must be in [0, 62], got {n}")
    values = np.asarray(values, dtype=np.int64)
    shifts = np.arange(n - 1, -1, -1, dtype=np.int64)
    return ((values[..., None] >> shifts) & 1).astype(np.uint8)


def popcount(values: Any) -> np.ndarray:
    """Number of set bits of non-negative integers (elementwise)."""
    return np.bitwise_count(np.asarray(values)).astype(np.int64)


def matmul(a: Any, b: Any) -> np.ndarray:
    """Matrix product over GF(2) of 0/1 arrays (any broadcasting ``np.matmul`` accepts)."""
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    return (np.matmul(a, b) & 1).astype(np.uint8)


def row_reduce(a: Any, name: str = "matrix") -> tuple[np.ndarray, tuple[int, ...]]:
    """Reduced row echelon form over GF(2).

    Returns:
      ``(r, pivots)``: ``r`` has the shape of ``a``; its first ``len(pivots)`` rows are the nonzero
      rows, row ``i`` has its leading 1 in column ``pivots[i]`` and that column is zero elsewhere.
      The remaining rows are zero. ``rank(a) == len(pivots)``.
    """
    r = as_binary_matrix(a, name).copy()
    rows, cols = r.shape
    pivots: list[int] = []
    top = 0
    for col in range(cols):
        if top == rows:
            break
        nonzero = np.flatnonzero(r[top:, col])
        if nonzero.size == 0:
            continue
        pivot_row = top + int(nonzero[0])
        if pivot_row != top:
            r[[top, pivot_row]] = r[[pivot_row, top]]
        hits = r[:, col].astype(bool)
        hits[top] = False
        r[hits] ^= r[top]
        pivots.append(col)
        top += 1
    return r, tuple(pivots)


def rank(a: Any, name: str = "matrix") -> int:
    """Rank over GF(2)."""
    return len(row_reduce(a, name)[1])


def systematic_form(g: Any, name: str = "generator") -> tuple[np.ndarray, np.ndarray]:
    """Systematic form ``[I_k | P]`` of a full-row-rank ``[k, n]`` matrix, with its column permutation.

    Returns:
      ``(g_sys, perm)`` with ``g_sys = E @ g[:, perm]`` over GF(2) for an invertible row operation
      ``E``, ``g_sys[:, :k] = I_k``. ``perm`` lists the pivot (information) columns first, in
      increasing order, then the other columns in increasing order; ``perm`` is the identity when
      ``g`` already starts with an identity block. The code of ``g_sys`` is the code of ``g`` with
      coordinates reordered by ``perm`` (codeword ``c`` of ``g`` <-> ``c[perm]`` of ``g_sys``).

    Raises:
      ValueError: if ``g`` does not have full row rank.
    """
    r, pivots = row_reduce(g, name)
    k, n = r.shape
    if len(pivots) != k:
        raise ValueError(f"{name} must have full row rank {k} for a systematic form, got rank {len(pivots)}")
    rest = [c for c in range(n) if c not in set(pivots)]
    perm = np.array(list(pivots) + rest, dtype=np.int64)
    return r[:, perm], perm


def null_space(a: Any, name: str = "matrix") -> np.ndarray:
    """Basis (as rows) of ``{x : a x^T = 0}`` over GF(2), shape ``[cols - rank, cols]``.

    The basis is in reduced form on the free (non-pivot) columns of ``a``: basis row ``i`` has a 1
    in the ``i``-th free column and 0 in the other free columns. An empty ``[0, cols]`` array is
    returned when ``a`` has full column rank.
    """
    r, pivots = row_reduce(a, name)
    cols = r.shape[1]
    free = [c for c in range(cols) if c not in set(pivots)]
    basis = np.zeros((len(free), cols), dtype=np.uint8)
    for i, f in enumerate(free):
        basis[i, f] = 1
        for row, p in enumerate(pivots):
            basis[i, p] = r[row, f]
    return basis


def inverse(a: Any, name: str = "matrix") -> np.ndarray:
    """Inverse of a square matrix over GF(2).

    Raises:
      ValueError: if ``a`` is not square or is singular.
    """
    a = as_binary_matrix(a, name)
    m, n = a.shape
    if m != n:
        raise ValueError(f"{name} must be square to invert, got shape {a.shape}")
    r, pivots = row_reduce(np.concatenate([a, np.eye(n, dtype=np.uint8)], axis=1), name)
    if tuple(pivots[:n]) != tuple(range(n)) or len(pivots) < n:
        raise ValueError(f"{name} is singular over GF(2)")
    return r[:, n:].copy()


def generator_to_parity_check(g: Any) -> np.ndarray:
    """A full-rank parity-check matrix ``H`` (``[n - rank(g), n]``) with ``g H^T = 0``."""
    return null_space(g, "generator")


def parity_check_to_generator(h: Any) -> np.ndarray:
    """A full-rank generator ``G`` (``[n - rank(h), n]``) with ``G h^T = 0``.

    ``G`` is the :func:`null_space` basis of ``h``: it is systematic on the non-pivot columns of
    ``h``'s reduced row echelon form (message bit ``i`` is codeword bit ``free[i]``).
    """
    return null_space(h, "parity_check")
