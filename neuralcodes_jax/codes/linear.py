"""Binary linear block codes, classical constructions and syndrome-table (coset-leader) ML decoding.

A :class:`LinearCode` holds a full-rank generator ``G [k, n]`` and parity-check matrix ``H [n - k, n]``
(``G H^T = 0`` over GF(2)); messages ``u`` (``k`` bits) encode as ``c = u G``. Message ``i`` is the
most-significant-bit-first ``k``-bit expansion of ``i``, so ``code.codewords()[i]`` is its codeword (the labelling
of the exact evaluators in :mod:`neuralcodes_jax.codes.exact`).

Syndrome decoding is exact ML decoding on the BSC with ``p < 1/2`` (coding-anchors Sec. 1.4): ``y`` with syndrome
``s = y H^T`` decodes to ``y + e(s)``, the coset leader ``e(s)`` being a minimum-weight word with syndrome ``s``.
Syndromes are integers with the first row of ``H`` as the most significant bit.

**Tie-breaking.** Among several minimum-weight words the leader is the one whose sorted support comes first
lexicographically (the order of ``itertools.combinations(range(n), w)``), i.e. the error touching the earliest
positions. Perfect codes (Hamming, Golay, odd repetition) have no ties. Ties leave the BLER unchanged; the BER may
differ.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from neuralcodes_jax.codes import gf2
from neuralcodes_jax.config_utils import check_int as _check_int

__all__ = [
    "LinearCode",
    "hamming_code",
    "extended_hamming_code",
    "golay_code",
    "extended_golay_code",
    "repetition_code",
    "single_parity_check_code",
    "code_from_codewords",
    "coset_leaders",
    "SyndromeDecoder",
    "GOLAY_GENERATOR_POLYNOMIAL",
    "MAX_ENUMERATION_BITS",
    "cyclic_code",
    "bch_code",
    "BCH_GENERATOR_POLYNOMIALS",
    "reed_muller_first_order",
    "weight_enumerator",
    "krawtchouk_table",
    "is_hamming_equivalent",
    "PRIMITIVE_POLYNOMIALS",
    "bch_generator_polynomial",
    "bch_dimensions",
    "extended_bch_code",
    "reed_muller",
]

# Coefficients of g(x) = 1 + x^2 + x^4 + x^5 + x^6 + x^10 + x^11 (x^0 first), a generator polynomial
# of the cyclic binary Golay code of length 23 (a factor of x^23 - 1 over GF(2)).
GOLAY_GENERATOR_POLYNOMIAL = (1, 0, 1, 0, 1, 1, 1, 0, 0, 0, 1, 1)

#: Generator polynomials (octal, highest degree first, the usual tables of primitive narrow-sense BCH codes with the
#: primitive polynomials x^4 + x + 1 and x^5 + x^2 + 1) and the designed distance of each ``(n, k)``.
BCH_GENERATOR_POLYNOMIALS = {
    (15, 11): (0o23, 3),
    (15, 7): (0o721, 5),
    (15, 5): (0o2467, 7),
    (31, 26): (0o45, 3),
    (31, 21): (0o3551, 5),
    (31, 16): (0o107657, 7),
}

# Listing all 2^k codewords, or all 2^n received words, is allowed up to this many bits.
MAX_ENUMERATION_BITS = 24


def _is_jax(x: Any) -> bool:
    return isinstance(x, jax.Array)


def _gf2_dot(x: Any, m: np.ndarray) -> Any:
    """``x @ m mod 2`` for 0/1 arrays: NumPy in, NumPy out; JAX (also traced) in, JAX out."""
    if _is_jax(x):
        out = jnp.matmul(x.astype(jnp.int32), jnp.asarray(m, jnp.int32)) & 1
        return out.astype(jnp.uint8)
    return gf2.matmul(np.asarray(x), m)


@dataclasses.dataclass(frozen=True, eq=False)
class LinearCode:
    """A binary ``[n, k]`` linear code with ``1 <= k < n``.

    Attributes:
      generator: ``uint8 [k, n]``, full row rank; defines the encoding ``c = u G``.
      parity_check: ``uint8 [n - k, n]``, full row rank, ``G H^T = 0``.
      name: a label used in reports.

    Build with :meth:`from_generator`, :meth:`from_parity_check` or the constructions below.
    """

    generator: np.ndarray
    parity_check: np.ndarray
    name: str = ""

    def __post_init__(self) -> None:
        g = gf2.as_binary_matrix(self.generator, "generator")
        h = gf2.as_binary_matrix(self.parity_check, "parity_check")
        k, n = g.shape
        if h.shape[1] != n:
            raise ValueError(f"parity_check must have n={n} columns like generator, got shape {h.shape}")
        if not 1 <= k < n:
            raise ValueError(f"k must be in [1, n-1] = [1, {n - 1}] (k >= n leaves no redundancy), got k={k}")
        if gf2.rank(g, "generator") != k:
            raise ValueError(f"generator must have full row rank k={k}")
        if h.shape[0] != n - k or gf2.rank(h, "parity_check") != n - k:
            raise ValueError(f"parity_check must have full row rank n-k={n - k}, got shape {h.shape}")
        if np.any(gf2.matmul(g, h.T)):
            raise ValueError("generator and parity_check must satisfy G H^T = 0 over GF(2)")
        object.__setattr__(self, "generator", g)
        object.__setattr__(self, "parity_check", h)
        g.setflags(write=False)
        h.setflags(write=False)

    # ----------------------------------------------------------------------------- constructors
    @classmethod
    def from_generator(cls, generator: Any, name: str = "") -> LinearCode:
        """Code spanned by the rows of ``generator`` (must have full row rank, ``k < n``)."""
        g = gf2.as_binary_matrix(generator, "generator")
        k, n = g.shape
        if k >= n:
            raise ValueError(f"k must be < n (generator has k={k} rows and n={n} columns)")
        r = gf2.rank(g, "generator")
        if r != k:
            raise ValueError(f"generator must have full row rank k={k}, got rank {r} (dependent rows)")
        return cls(g, gf2.generator_to_parity_check(g), name)

    @classmethod
    def from_parity_check(cls, parity_check: Any, name: str = "") -> LinearCode:
        """Null space of ``parity_check``; dependent rows are allowed (``k = n - rank(H)``).

        The stored ``parity_check`` is the given matrix if of full row rank, else the nonzero rows of its RREF. The
        generator is systematic on the non-pivot columns of ``H`` (:func:`gf2.parity_check_to_generator`).
        """
        h = gf2.as_binary_matrix(parity_check, "parity_check")
        r, pivots = gf2.row_reduce(h, "parity_check")
        n = h.shape[1]
        if len(pivots) == 0:
            raise ValueError("parity_check must have rank >= 1 (k < n), got the zero matrix")
        if len(pivots) == n:
            raise ValueError(f"parity_check has rank n={n}, so k=0; need 1 <= k < n")
        if len(pivots) < h.shape[0]:
            h = r[: len(pivots)]
        return cls(gf2.parity_check_to_generator(h), h, name)

    # ------------------------------------------------------------------------------- properties
    @property
    def n(self) -> int:
        return int(self.generator.shape[1])

    @property
    def k(self) -> int:
        return int(self.generator.shape[0])

    @property
    def rate(self) -> float:
        return self.k / self.n

    @functools.cached_property
    def information_set(self) -> np.ndarray:
        """``k`` columns ``J`` on which ``G`` is invertible.

        If ``G`` contains the unit columns ``e_0, ..., e_{k-1}`` (systematic), ``J[i]`` is the first column equal to
        ``e_i`` (message bit ``i`` is codeword bit ``J[i]``); otherwise the pivot columns of ``G``'s RREF.
        """
        g = self.generator
        k = self.k
        units = []
        for i in range(k):
            target = np.zeros(k, dtype=np.uint8)
            target[i] = 1
            hits = np.flatnonzero(np.all(target == g.T, axis=1))
            if hits.size == 0:
                break
            units.append(int(hits[0]))
        if len(units) == k:
            return np.array(units, dtype=np.int64)
        _, pivots = gf2.row_reduce(g, "generator")
        return np.array(pivots, dtype=np.int64)

    @functools.cached_property
    def _information_inverse(self) -> np.ndarray:
        return gf2.inverse(self.generator[:, self.information_set], "generator[:, information_set]")

    # ------------------------------------------------------------------------------- operations
    def encode(self, messages: Any) -> Any:
        """``messages [..., k]`` (0/1) -> codewords ``[..., n]`` (``uint8``); NumPy or JAX (jit-safe)."""
        if not _is_jax(messages):
            messages = gf2.as_bits(messages, "messages")
        if messages.shape[-1] != self.k:
            raise ValueError(f"messages must have k={self.k} bits in the last axis, got shape {messages.shape}")
        return _gf2_dot(messages, self.generator)

    def unencode(self, codewords: Any) -> Any:
        """Messages ``[..., k]`` of codewords ``[..., n]`` (inverse of :meth:`encode` on the code).

        ``u = c[J] (G[:, J])^-1`` on the information set ``J``; meaningless for a non-codeword.
        """
        cols = codewords[..., self.information_set]
        return _gf2_dot(cols, self._information_inverse)

    def syndrome(self, words: Any) -> Any:
        """Syndromes ``words H^T`` ``[..., n - k]`` (``uint8``); NumPy or JAX."""
        return _gf2_dot(words, self.parity_check.T)

    def messages(self) -> np.ndarray:
        """All ``2^k`` messages ``[2^k, k]`` in integer order (most significant bit first)."""
        self._check_enumerable()
        return gf2.int_to_bits(np.arange(1 << self.k), self.k)

    def codewords(self) -> np.ndarray:
        """All ``2^k`` codewords ``[2^k, n]``; row ``i`` encodes message ``i`` (``k <= 24``)."""
        self._check_enumerable()
        return self.encode(self.messages())

    def dual(self) -> LinearCode:
        """The dual code (generator ``H``, parity-check ``G``)."""
        return LinearCode(self.parity_check.copy(), self.generator.copy(), f"dual of {self.name}".strip())

    def _check_enumerable(self) -> None:
        if self.k > MAX_ENUMERATION_BITS:
            raise ValueError(f"k must be <= {MAX_ENUMERATION_BITS} to list all codewords, got k={self.k}")

    def __repr__(self) -> str:
        label = f"{self.name!r}, " if self.name else ""
        return f"LinearCode({label}n={self.n}, k={self.k})"


# ------------------------------------------------------------------------------------ constructions
def hamming_code(r: int) -> LinearCode:
    """Hamming code ``(2^r - 1, 2^r - 1 - r)``, ``r >= 2``, minimum distance 3, perfect.

    Column ``j`` of ``H`` is the ``r``-bit expansion of ``j + 1`` (MSB in the first row), so a single error at ``j``
    has syndrome ``j + 1``. Parity bits sit at positions ``2^i - 1``, message bits at the others, in order.
    """
    r = _check_int("r", r, 2, 16)
    n = (1 << r) - 1
    h = gf2.int_to_bits(np.arange(1, n + 1), r).T
    return LinearCode.from_parity_check(h, f"Hamming({n},{n - r})")


def extended_hamming_code(r: int) -> LinearCode:
    """Extended Hamming code ``(2^r, 2^r - 1 - r)``: Hamming plus an overall parity bit (d = 4)."""
    base = hamming_code(r)
    return _extend(base, f"extended Hamming({base.n + 1},{base.k})")


def golay_code() -> LinearCode:
    """Binary Golay code (23, 12), minimum distance 7, perfect (corrects every error of weight <= 3).

    Cyclic, generator polynomial :data:`GOLAY_GENERATOR_POLYNOMIAL`, in systematic form: message bits are codeword
    bits 0..11.
    """
    g = np.zeros((12, 23), dtype=np.uint8)
    for i in range(12):
        g[i, i : i + 12] = GOLAY_GENERATOR_POLYNOMIAL
    g_sys, perm = gf2.systematic_form(g, "generator")
    assert np.array_equal(perm, np.arange(23))
    return LinearCode.from_generator(g_sys, "Golay(23,12)")


def extended_golay_code() -> LinearCode:
    """Extended binary Golay code (24, 12): Golay(23,12) plus an overall parity bit (d = 8)."""
    return _extend(golay_code(), "extended Golay(24,12)")


def cyclic_code(n: int, generator_polynomial: int, name: str = "") -> LinearCode:
    """The cyclic ``(n, n - deg g)`` code of ``g(x)`` (an integer, bit ``i`` = coefficient of ``x^i``), in systematic
    form (message bits first); ``g`` must divide ``x^n - 1`` over GF(2)."""
    n = _check_int("n", n, 2, 1023)
    g = _check_int("generator_polynomial", generator_polynomial, 2)
    deg = g.bit_length() - 1
    if not 1 <= deg < n or not g & 1:
        raise ValueError(f"generator_polynomial must have degree in [1, {n - 1}] and g(0) = 1, got {oct(g)}")
    rem = (1 << n) | 1  # x^n - 1 = x^n + 1 over GF(2)
    while rem.bit_length() - 1 >= deg:
        rem ^= g << (rem.bit_length() - 1 - deg)
    if rem:
        raise ValueError(f"generator_polynomial {oct(g)} does not divide x^{n} - 1 over GF(2)")
    k = n - deg
    coeffs = np.array([(g >> i) & 1 for i in range(deg + 1)], dtype=np.uint8)
    rows = np.zeros((k, n), dtype=np.uint8)
    for i in range(k):
        rows[i, i : i + deg + 1] = coeffs
    g_sys, perm = gf2.systematic_form(rows, "generator")
    if not np.array_equal(perm, np.arange(n)):  # pragma: no cover - cyclic generators are systematic on 0..k-1
        g_sys = g_sys[:, np.argsort(perm)]
    return LinearCode.from_generator(g_sys, name or f"cyclic({n},{k})")


def bch_code(n: int, k: int) -> LinearCode:
    """The narrow-sense primitive BCH code ``(n, k)``, ``n = 2^m - 1`` with ``3 <= m <= 10``, in systematic form.

    ``(n, k)`` of :data:`BCH_GENERATOR_POLYNOMIALS` use that table; every other length and dimension uses
    :func:`bch_generator_polynomial` (the same polynomials where both exist). :func:`bch_dimensions` lists the
    dimensions of a length.
    """
    if (n, k) in BCH_GENERATOR_POLYNOMIALS:
        return cyclic_code(n, BCH_GENERATOR_POLYNOMIALS[(n, k)][0], f"BCH({n},{k})")
    return cyclic_code(n, bch_generator_polynomial(n, k)[0], f"BCH({n},{k})")


def reed_muller_first_order(m: int) -> LinearCode:
    """First-order Reed-Muller code ``RM(1, m)``: ``(2^m, m + 1)``, minimum distance ``2^(m-1)``.

    Codewords are the evaluations of affine Boolean functions on the ``2^m`` points of GF(2)^m.
    """
    m = _check_int("m", m, 2, 10)
    points = gf2.int_to_bits(np.arange(1 << m), m).T  # [m, 2^m]
    g = np.concatenate([np.ones((1, 1 << m), dtype=np.uint8), points], axis=0)
    g_sys, perm = gf2.systematic_form(g, "generator")
    return LinearCode.from_generator(g_sys[:, np.argsort(perm)], f"Reed-Muller(1,{m})")


@functools.cache
def krawtchouk_table(n: int) -> np.ndarray:
    """``K[a, w]`` = coefficient of ``z^w`` in ``(1 + z)^(n - a) (1 - z)^a`` (Krawtchouk ``K_w(a)``), ``int64``."""
    n = _check_int("n", n, 1, 62)
    table = np.zeros((n + 1, n + 1), dtype=object)
    for a in range(n + 1):
        poly = [1]
        for factor in [(1, 1)] * (n - a) + [(1, -1)] * a:
            nxt = [0] * (len(poly) + 1)
            for i, c in enumerate(poly):
                nxt[i] += c * factor[0]
                nxt[i + 1] += c * factor[1]
            poly = nxt
        table[a] = poly
    out = table.astype(np.int64)
    out.setflags(write=False)
    return out


def _span_weights(rows: np.ndarray) -> np.ndarray:
    """Weight distribution ``[n + 1]`` of the span of the (independent) rows ``[r, n]``, by listing ``2^r`` words."""
    r, n = rows.shape
    words = _xor_map_table(gf2.bits_to_int(rows), r)
    return np.bincount(np.bitwise_count(words.astype(np.int64)), minlength=n + 1).astype(np.int64)


def weight_enumerator(code: LinearCode) -> np.ndarray:
    """Exact weight distribution ``A[0..n]`` of a linear code (``A[w]`` = codewords of weight ``w``).

    Lists the ``2^min(k, n-k)`` words of the code or of its dual; from the dual by the MacWilliams identity
    ``A_w = 2^-(n-k) sum_a B_a K_w(a)`` (``B``: dual weights, ``K``: :func:`krawtchouk_table`), in exact integers.
    """
    if not isinstance(code, LinearCode):
        raise ValueError(f"code must be a LinearCode, got {type(code).__name__}")
    n, k = code.n, code.k
    if min(k, n - k) > MAX_ENUMERATION_BITS:
        raise ValueError(
            f"min(k, n - k) must be <= {MAX_ENUMERATION_BITS} for a weight enumerator, got {min(k, n - k)}"
        )
    if k <= n - k:
        return _span_weights(code.generator)
    dual = _span_weights(code.parity_check).astype(object)
    total = (dual[:, None] * krawtchouk_table(n).astype(object)).sum(axis=0)
    scale = 1 << (n - k)
    if any(int(t) % scale for t in total):  # pragma: no cover - the identity is exact
        raise ArithmeticError("MacWilliams transform is not integral")
    return np.array([int(t) // scale for t in total], dtype=np.int64)


def is_hamming_equivalent(code: LinearCode) -> bool:
    """Whether a linear code is equivalent to the Hamming code of its length: ``n = 2^r - 1``, ``k = n - r`` and the
    columns of ``H`` are the ``n`` distinct nonzero vectors of GF(2)^r (exact; every such code is a column
    permutation of :func:`hamming_code`)."""
    r = code.n - code.k
    if code.n != (1 << r) - 1:
        return False
    cols = _column_ints(code.parity_check)
    return bool(np.all(cols > 0) and np.unique(cols).size == code.n)


def repetition_code(n: int) -> LinearCode:
    """Repetition code ``(n, 1)``, ``n >= 2``; minimum distance ``n``, perfect when ``n`` is odd."""
    n = _check_int("n", n, 2, 4096)
    return LinearCode.from_generator(np.ones((1, n), dtype=np.uint8), f"repetition({n},1)")


def single_parity_check_code(n: int) -> LinearCode:
    """Single-parity-check code ``(n, n - 1)``, ``n >= 2``; minimum distance 2 (detects one error)."""
    n = _check_int("n", n, 2, 4096)
    return LinearCode.from_parity_check(np.ones((1, n), dtype=np.uint8), f"single parity check({n},{n - 1})")


def code_from_codewords(codewords: Any, name: str = "") -> LinearCode:
    """The linear code whose codeword set is exactly ``codewords`` (``[M, n]``, distinct rows).

    The generator is the RREF basis of the rows, so the message labelling generally differs from the row order.
    Raises ValueError if rows repeat, do not form a linear subspace, or the code is trivial (``k = 0`` or ``n``).
    """
    words = gf2.as_binary_matrix(codewords, "codewords")
    m, _n = words.shape
    if np.unique(words, axis=0).shape[0] != m:
        raise ValueError("codewords must be distinct (found repeated rows)")
    r, pivots = gf2.row_reduce(words, "codewords")
    if m != 1 << len(pivots):
        raise ValueError(f"codewords must form a linear subspace: {m} distinct words span 2^{len(pivots)} words")
    return LinearCode.from_generator(r[: len(pivots)], name)


def _extend(code: LinearCode, name: str) -> LinearCode:
    g = code.generator
    parity = (g.sum(axis=1) & 1).astype(np.uint8)[:, None]
    return LinearCode.from_generator(np.concatenate([g, parity], axis=1), name)


# ------------------------------------------------------------------------------- syndrome decoding
def _column_ints(parity_check: np.ndarray) -> np.ndarray:
    """Syndrome integer of a single error at each position (first row of H = most significant bit)."""
    return gf2.bits_to_int(parity_check.T)


def coset_leaders(parity_check: Any, max_redundancy: int = 20, chunk: int = 1 << 16) -> np.ndarray:
    """Coset-leader table: ``leaders[s]`` is the minimum-weight error with syndrome integer ``s``.

    Errors are enumerated by increasing weight, then lexicographic sorted support; the first to reach a syndrome is
    its leader (the module's tie-break). ``parity_check``: ``[r, n]`` of full row rank ``r``; tables above
    ``2^max_redundancy`` syndromes are refused; ``chunk`` error patterns per vectorised step. Returns ``uint8 [2^r, n]``
    indexed by syndrome integer.
    """
    h = gf2.as_binary_matrix(parity_check, "parity_check")
    r, n = h.shape
    if gf2.rank(h, "parity_check") != r:
        raise ValueError(f"parity_check must have full row rank to build coset leaders, got rank < {r}")
    if r > max_redundancy:
        raise ValueError(f"n-k must be <= max_redundancy={max_redundancy} for a syndrome table, got {r}")
    cols = _column_ints(h)
    size = 1 << r
    filled = np.zeros(size, dtype=bool)
    leaders = np.zeros((size, n), dtype=np.uint8)
    filled[0] = True
    remaining = size - 1
    for w in range(1, n + 1):
        if remaining == 0:
            break
        combos_iter = itertools.combinations(range(n), w)
        while remaining:
            block = list(itertools.islice(combos_iter, chunk))
            if not block:
                break
            supports = np.array(block, dtype=np.int64)
            synd = np.bitwise_xor.reduce(cols[supports], axis=1)
            uniq, first = np.unique(synd, return_index=True)
            new = ~filled[uniq]
            for s, row in zip(uniq[new], first[new]):
                leaders[s, supports[row]] = 1
            filled[uniq[new]] = True
            remaining -= int(new.sum())
    return leaders


_EXACT = jax.lax.Precision.HIGHEST


@jax.jit
def _jax_syndrome_decode(received: jax.Array, h_t: jax.Array, powers: jax.Array, leaders: jax.Array) -> jax.Array:
    # float32 matmuls are exact: 0/1 and power-of-two entries, syndrome counts <= n, syndrome integers < 2^24.
    y = received.astype(jnp.float32)
    s = jnp.mod(jnp.matmul(y, h_t, precision=_EXACT), 2.0)
    index = jnp.matmul(s, powers, precision=_EXACT).astype(jnp.int32)
    return jnp.bitwise_xor(received.astype(jnp.uint8), jnp.take(leaders, index, axis=0))


@jax.jit
def _jax_syndrome_decode_messages(
    received: jax.Array, h_t: jax.Array, powers: jax.Array, leaders: jax.Array, info: jax.Array, info_inv: jax.Array
) -> jax.Array:
    c = _jax_syndrome_decode(received, h_t, powers, leaders)
    info_bits = jnp.take(c, info, axis=-1).astype(jnp.int32)
    return (jnp.matmul(info_bits, info_inv) & 1).astype(jnp.uint8)


class SyndromeDecoder:
    """Coset-leader (syndrome-table) ML decoder of a :class:`LinearCode` on the BSC.

    ``decode`` / ``decode_messages``: jitted JAX table lookup by syndrome integer on received bits ``[..., n]``;
    ``decode_numpy`` / ``decode_messages_numpy``: NumPy equivalents. Ties as in the module docstring.

    Attributes:
      code: the code.
      leaders: ``uint8 [2^(n-k), n]`` coset leaders indexed by syndrome integer.
      leader_weight_distribution: ``int64 [n + 1]``, ``alpha_i`` = coset leaders of weight i (coding-anchors 2.2).
    """

    def __init__(self, code: LinearCode, max_redundancy: int = 20):
        if not isinstance(code, LinearCode):
            raise ValueError(f"code must be a LinearCode, got {type(code).__name__}")
        if code.n > 62:
            raise ValueError(f"code.n must be <= 62 for the syndrome decoder, got {code.n}")
        self.code = code
        self.leaders = coset_leaders(code.parity_check, max_redundancy)
        self.leaders.setflags(write=False)
        r = code.n - code.k
        self.leader_weight_distribution = np.bincount(self.leaders.sum(axis=1), minlength=code.n + 1)
        self._h_t_np = code.parity_check.T.astype(np.float32)
        self._powers_np = (2.0 ** np.arange(r - 1, -1, -1)).astype(np.float32)
        self._h_t = jnp.asarray(self._h_t_np)
        self._powers = jnp.asarray(self._powers_np)
        self._leaders = jnp.asarray(self.leaders)
        self._info = jnp.asarray(code.information_set, jnp.int32)
        self._info_inv = jnp.asarray(code._information_inverse, jnp.int32)

    @property
    def coset_leader_weights(self) -> np.ndarray:
        """Weight of the leader of each syndrome, ``int64 [2^(n-k)]``."""
        return self.leaders.sum(axis=1).astype(np.int64)

    def _check(self, received: Any) -> None:
        if received.shape[-1] != self.code.n:
            raise ValueError(f"received must have n={self.code.n} bits in the last axis, got shape {received.shape}")

    def decode(self, received: Any) -> jax.Array:
        """Jitted JAX decoding ``[..., n] -> [..., n]`` (``uint8`` codewords)."""
        received = jnp.asarray(received)
        self._check(received)
        return _jax_syndrome_decode(received, self._h_t, self._powers, self._leaders)

    def decode_messages(self, received: Any) -> jax.Array:
        """Jitted JAX decoding to messages ``[..., k]`` (``uint8``)."""
        received = jnp.asarray(received)
        self._check(received)
        return _jax_syndrome_decode_messages(
            received, self._h_t, self._powers, self._leaders, self._info, self._info_inv
        )

    def decode_numpy(self, received: Any) -> np.ndarray:
        """Plain NumPy decoding ``[..., n] -> [..., n]`` (``uint8`` codewords)."""
        y = np.asarray(received)
        self._check(y)
        s = np.mod(y.astype(np.float32) @ self._h_t_np, 2.0)
        index = (s @ self._powers_np).astype(np.int64)
        return np.bitwise_xor(y.astype(np.uint8), self.leaders[index])

    def decode_messages_numpy(self, received: Any) -> np.ndarray:
        """Plain NumPy decoding to messages ``[..., k]``."""
        return self.code.unencode(self.decode_numpy(received))

    def table(self) -> np.ndarray:
        """Decoded message index per received word, ``int64 [2^n]`` (``n <= 24``): a table for ``codes.exact``."""
        n = self.code.n
        if n > MAX_ENUMERATION_BITS:
            raise ValueError(f"code.n must be <= {MAX_ENUMERATION_BITS} for a full decoder table, got {n}")
        syndromes = _xor_map_table(_column_ints(self.code.parity_check), n)
        msg_of_unit = self._message_of_units()
        msg = _xor_map_table(msg_of_unit, n)
        msg_of_leader = np.bitwise_xor.reduce(np.where(self.leaders.astype(bool), msg_of_unit[None, :], 0), axis=1)
        return np.bitwise_xor(msg, msg_of_leader[syndromes]).astype(np.int64)

    def _message_of_units(self) -> np.ndarray:
        """Integer of ``unencode(e_j)`` for each unit vector (the linear map word -> message)."""
        n = self.code.n
        return gf2.bits_to_int(self.code.unencode(np.eye(n, dtype=np.uint8)))

    def __repr__(self) -> str:
        return f"SyndromeDecoder({self.code!r})"


def _xor_map_table(column_values: np.ndarray, n: int) -> np.ndarray:
    """``out[y] = XOR of column_values[j]`` over set bits j of y (bit ``n - 1 - j``), y in [0, 2^n); ``O(n 2^n)``."""
    dtype = np.int32 if int(np.max(column_values, initial=0)) < 2**31 else np.int64
    out = np.zeros(1 << n, dtype=dtype)
    for j in range(n):
        half = 1 << (n - 1 - j)
        view = out.reshape(-1, 2, half)
        view[:, 1, :] ^= dtype(column_values[j])
    return out


# ------------------------------------------------------------------ BCH codes of any length, Reed-Muller codes
#: Primitive polynomials of GF(2^m), bit ``i`` = coefficient of ``x^i`` (Lin & Costello, *Error Control Coding*,
#: 2nd ed., Table 2.7): x^3+x+1, x^4+x+1, x^5+x^2+1, x^6+x+1, x^7+x^3+1, x^8+x^4+x^3+x^2+1, x^9+x^4+1,
#: x^10+x^3+1. Primitivity is checked when a field is built (:func:`_gf2m_exp_table`).
PRIMITIVE_POLYNOMIALS = {3: 0o13, 4: 0o23, 5: 0o45, 6: 0o103, 7: 0o211, 8: 0o435, 9: 0o1021, 10: 0o2011}


@functools.cache
def _gf2m_exp_table(m: int) -> np.ndarray:
    """``exp[i] = alpha^i`` (``i < 2^m - 1``) in GF(2^m) = GF(2)[x] / p(x), ``alpha = x``, ``p`` =
    :data:`PRIMITIVE_POLYNOMIALS` ``[m]``; raises if ``alpha`` does not have order ``2^m - 1`` (``p`` not
    primitive)."""
    p = PRIMITIVE_POLYNOMIALS[m]
    n = (1 << m) - 1
    exp = np.zeros(n, dtype=np.int64)
    a = 1
    for i in range(n):
        exp[i] = a
        a <<= 1
        if a >> m:
            a ^= p
    if a != 1 or np.unique(exp).size != n:  # pragma: no cover - the table holds primitive polynomials
        raise ArithmeticError(f"PRIMITIVE_POLYNOMIALS[{m}] = {oct(p)} is not primitive")
    exp.setflags(write=False)
    return exp


def _gf2_poly_mul(a: int, b: int) -> int:
    """Product of two GF(2) polynomials given as integers (bit ``i`` = coefficient of ``x^i``)."""
    out = 0
    while b:
        if b & 1:
            out ^= a
        a <<= 1
        b >>= 1
    return out


@functools.cache
def _bch_table(m: int) -> dict[int, tuple[int, int]]:
    """``{k: (g, delta)}`` of the narrow-sense primitive BCH codes of length ``n = 2^m - 1`` (``1 <= k < n``).

    The code of designed distance ``2t + 1`` has the zeros ``alpha^1, ..., alpha^(2t)`` and their conjugates: ``g``
    is the product of the minimal polynomials of the cyclotomic cosets ``{i 2^j mod n}`` meeting ``1..2t``
    (Lin & Costello Sec. 6.1, eq. 6.3); ``k = n - deg g``. ``delta`` is ``2t + 1`` for the largest ``t`` that gives
    the dimension, which is the Bose distance (the longest run of consecutive zeros plus one).
    """
    n = (1 << m) - 1
    exp = _gf2m_exp_table(m)
    log = np.zeros(n + 1, dtype=np.int64)
    log[exp] = np.arange(n)

    def gf_mul(a: int, b: int) -> int:
        return 0 if a == 0 or b == 0 else int(exp[(log[a] + log[b]) % n])

    def minimal_polynomial(coset: list[int]) -> int:
        coeffs = [1]  # prod_{j in coset} (x + alpha^j), coefficients x^0 first
        for j in coset:
            root = int(exp[j])
            nxt = [0] * (len(coeffs) + 1)
            for i, c in enumerate(coeffs):
                nxt[i + 1] ^= c
                nxt[i] ^= gf_mul(c, root)
            coeffs = nxt
        if any(c not in (0, 1) for c in coeffs):  # pragma: no cover - conjugate roots give binary coefficients
            raise ArithmeticError("minimal polynomial with non-binary coefficients")
        return sum(c << i for i, c in enumerate(coeffs))

    covered: set[int] = set()
    g = 1
    table: dict[int, tuple[int, int]] = {}
    for t in range(1, n // 2 + 1):
        for i in (2 * t - 1, 2 * t):
            if i % n and i % n not in covered:
                coset, j = [], i % n
                while j not in coset:
                    coset.append(j)
                    j = (2 * j) % n
                covered.update(coset)
                g = _gf2_poly_mul(g, minimal_polynomial(coset))
        k = n - (g.bit_length() - 1)
        if k >= 1:
            table[k] = (g, 2 * t + 1)
    return table


def _bch_m(n: Any) -> int:
    n = _check_int("n", n, 7)
    m = n.bit_length()
    if n != (1 << m) - 1 or m not in PRIMITIVE_POLYNOMIALS:
        raise ValueError(
            f"n must be 2^m - 1 with m in [{min(PRIMITIVE_POLYNOMIALS)}, {max(PRIMITIVE_POLYNOMIALS)}] "
            f"for a primitive BCH code, got {n}"
        )
    return m


def bch_dimensions(n: int) -> dict[int, int]:
    """``{k: designed distance}`` of the narrow-sense primitive BCH codes of length ``n = 2^m - 1`` (``3 <= m <=
    10``), e.g. ``bch_dimensions(63)[45] == 7`` and ``bch_dimensions(127)[64] == 21``."""
    return {k: d for k, (_, d) in sorted(_bch_table(_bch_m(n)).items(), reverse=True)}


def bch_generator_polynomial(n: int, k: int) -> tuple[int, int]:
    """``(g, delta)``: generator polynomial (integer, bit ``i`` = coefficient of ``x^i``; ``oct(g)`` reads as the
    octal tables of Lin & Costello, Appendix C) and designed distance of the narrow-sense primitive BCH ``(n, k)``
    code, derived from the cyclotomic cosets of GF(2^m) with :data:`PRIMITIVE_POLYNOMIALS` (see :func:`_bch_table`).
    """
    table = _bch_table(_bch_m(n))
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or int(k) not in table:
        raise ValueError(f"k must be one of {sorted(table)} for a primitive BCH code of length {n}, got {k!r}")
    return table[int(k)]


def extended_bch_code(n: int, k: int) -> LinearCode:
    """Extended BCH code ``(n, k)``, ``n = 2^m``: the BCH ``(n - 1, k)`` code of :func:`bch_code` plus an overall
    parity bit (last position); minimum distance the BCH one rounded up to even (e.g. eBCH(128,64): d = 22)."""
    n = _check_int("n", n, 8)
    if n & (n - 1):
        raise ValueError(f"n must be a power of two (2^m, the BCH length plus one) for extended_bch_code, got {n}")
    return _extend(bch_code(n - 1, k), f"eBCH({n},{k})")


def reed_muller(r: int, m: int) -> LinearCode:
    """Reed-Muller code ``RM(r, m)``: ``(2^m, sum_{i <= r} C(m, i))``, minimum distance ``2^(m - r)``.

    Codewords are the evaluations of the Boolean polynomials of degree ``<= r`` in ``m`` variables on the ``2^m``
    points of GF(2)^m (MacWilliams & Sloane, Ch. 13, Sec. 1-3). Point ``j`` has the ``m``-bit label of ``j`` (most
    significant bit = variable 0). Generator row order: the monomials by degree, then by the lexicographic order of
    their variable sets (``itertools.combinations``): ``1, v_0, ..., v_(m-1), v_0 v_1, ...``; message bit ``i`` is the
    coefficient of monomial ``i``. ``0 <= r < m`` (``RM(m, m)`` is the whole space, which has no redundancy).
    ``RM(1, m)`` is the code of :func:`reed_muller_first_order` (another generator).
    """
    m = _check_int("m", m, 1, 10)
    r = _check_int("r", r, 0, m - 1)
    points = gf2.int_to_bits(np.arange(1 << m), m).T.astype(bool)  # [m, 2^m]
    rows = [
        np.logical_and.reduce(points[list(subset)], axis=0) if subset else np.ones(1 << m, dtype=bool)
        for degree in range(r + 1)
        for subset in itertools.combinations(range(m), degree)
    ]
    return LinearCode.from_generator(np.array(rows, dtype=np.uint8), f"RM({r},{m})")
