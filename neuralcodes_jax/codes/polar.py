"""Polar codes (Arikan 2009): 5G and Gaussian-approximation constructions, CRC-aided codes, SC and SCL decoding.

**Transform.** ``x = u G_N`` with ``G_N = F^{(x)m}``, ``F = [[1, 0], [1, 1]]``, ``N = 2^m``, without the bit-reversal
permutation (as in 5G, TS 38.212 Sec. 5.3.1.2). ``G_N`` is its own inverse over GF(2). The encoder runs ``m``
butterfly stages (``x[j] ^= x[j + s]`` on blocks of ``2s``), batched ``[B, K] -> [B, N]``.

**Constructions** (which ``K`` of the ``N`` bit channels carry data; the others are frozen to 0):
  * ``'5g'``: the polar sequence of TS 38.212 Table 5.3.1.2-1 (``N_max = 1024``, channels by ascending
    reliability; for ``N < 1024`` the subsequence of indices ``< N``), the ``K`` most reliable of them. Rate matching,
    the interleavers and the parity-check bits of 5G UCI are not modelled: this is the mother code.
  * ``'ga'``: Gaussian approximation of density evolution (Trifonov 2012, Sec. III; Chung, Richardson, Urbanke 2001)
    on BPSK/AWGN at a design SNR. The channel LLR is ``N(mu, 2 mu)`` with ``mu = 4 Es/N0``; a check (``f``) branch
    maps ``mu -> phi^-1(1 - (1 - phi(mu))^2)``, a variable (``g``) branch ``mu -> 2 mu``, with Chung's ``phi``
    (``exp(-0.4527 x^0.86 + 0.0218)`` below 10, ``sqrt(pi/x) exp(-x/4) (1 - 10/(7x))`` above; inverted by bisection in
    the log domain, so the means stay finite at any SNR); for tiny means (below ~0.4, where Chung's ``phi`` is poor
    and exceeds 1 near 0) the check branch is its small-mean limit ``mu -> mu^2 / 2``. Channels are ranked by their
    mean (ties: lower index less reliable). :func:`polar_code` takes the design SNR as **Eb/N0 in dB** with
    ``Es/N0 = (K/N) Eb/N0`` (``K`` message bits); :func:`ga_llr_means` takes **Es/N0 in dB**.

**CRC-aided codes.** With a CRC of ``L_crc`` bits (:mod:`neuralcodes_jax.codes.crc`, TS 38.212 Sec. 5.1), the ``K``
message bits and their CRC (message first) are placed, in increasing index order, on the ``K + L_crc`` most reliable
channels (5G uplink order, no interleaving). :attr:`PolarCode.generator` is the ``[K, N]`` generator of the whole
linear map message -> codeword (CRC included), for ML/OSD references.

**Decoders** on channel LLRs ``L = log P(x=0|y) / P(x=1|y)`` (the package convention, :func:`ldpc.channel_llr`),
``[B, N]``, jit-compiled per code and options, returning :class:`PolarDecoded` (codeword and message decisions):
  * :func:`sc_decode`: successive cancellation (Arikan 2009) with the min-sum ``f(a, b) = sign(a) sign(b)
    min(|a|, |b|)`` and ``g(a, b, u) = b + (1 - 2u) a``, hard decision ``u = 1`` iff ``L < 0``; all-frozen subtrees
    decode to 0 and all-information subtrees to the hard decision of their LLRs (Alamdar-Yazdi, Kschischang 2011),
    repetition subtrees to the sign of their LLR sum (Sarkis et al. 2014).
  * :func:`scl_decode`: successive-cancellation list decoding with LLR-based path metrics (Balatsoukas-Stimming,
    Bastani Parizi, Burg, IEEE TSP 2015) in their approximate form: ``PM += |L_u|`` when a path decides against the
    sign of its leaf LLR; at each information bit the ``2 L_list`` children are pruned to the ``L_list`` with the
    smallest metrics. With a CRC (``crc_aided=True``) the decoder returns the most likely path that passes the CRC,
    else the most likely path. Special subtrees are decoded in one step, with the same list as bit-by-bit decoding
    (up to ties): all-frozen subtrees add ``sum_i max(0, -alpha_i)``; repetition subtrees fork once into all-0 /
    all-1; all-information subtrees fork on their ``min(L_list - 1, n_v)`` least reliable positions (Hashemi, Condo,
    Gross, "Simplified successive-cancellation list decoding of polar codes", ISIT 2016). This holds because the
    increments of a subtree's leaves add up to ``sum_i max(0, -(1 - 2 c_i) alpha_i)`` for its codeword ``c`` (min-sum
    ``f``; induction on the size). For the same reason, with ``L_list >= 2^(K + L_crc)`` no path is ever pruned and
    the final metric of a path is its correlation discrepancy ``sum_{i: x_i != hd(L_i)} |L_i|``: SCL is then ML
    decoding, over the code with free CRC bits, or with CRC aid over the CRC-aided code (tests check both against
    brute force).

Implementation (XLA:CPU): the decoding tree is unrolled at trace time, one vector operation per node over
``[B, L_list, n_v]`` (batch major); decisions are kept as signs ``+-1`` (XOR is a product). Path reorderings are
applied lazily: a subtree returns the permutation of the list it made, and its parent gathers its own LLRs and the
left child's decisions only when it needs them, so each node gathers ``O(n_v)`` values once. Pruning is
``lax.top_k``: a bitonic selection network, arg-min extraction, a batch-minor layout ``[n_v, L, B]`` and select
chains instead of gathers were all slower here. Compilation grows with the number of special subtrees and forks:
about 5 s for (128, 64) and 25 s for (1024, 512) with SCL-8 on a loaded 2-core machine.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from neuralcodes_jax.codes import crc as crc_lib
from neuralcodes_jax.codes import gf2
from neuralcodes_jax.codes._polar5g_sequence import POLAR_5G_SEQUENCE
from neuralcodes_jax.config_utils import check_int as _check_int

__all__ = [
    "PolarCode",
    "PolarDecoded",
    "polar_code",
    "polar_5g_sequence",
    "ga_llr_means",
    "ga_reliability_order",
    "polar_transform_matrix",
    "polar_transform",
    "polar_encode",
    "sc_decode",
    "scl_decode",
    "CONSTRUCTIONS",
    "LIST_SIZES",
    "MAX_POLAR_N",
    "POLAR_5G_SEQUENCE",
]

MAX_POLAR_N = 1024
"""Largest block length (``N_max`` of the 5G sequence; the decoders unroll the tree at trace time)."""

CONSTRUCTIONS = ("5g", "ga")
"""Frozen-set constructions of :func:`polar_code`."""

LIST_SIZES = (1, 2, 4, 8, 16, 32)
"""List sizes of :func:`scl_decode`."""


# ------------------------------------------------------------------------------------------- validation
def _check_n(n: Any) -> int:
    n = _check_int("n", n, 2, MAX_POLAR_N)
    if n & (n - 1):
        raise ValueError(f"n must be a power of two in [2, {MAX_POLAR_N}], got {n}")
    return n


# ----------------------------------------------------------------------------------------- constructions
def polar_5g_sequence(n: int) -> np.ndarray:
    """``int64 [n]``: the bit channels ``0 .. n-1`` by ascending reliability, TS 38.212 Table 5.3.1.2-1.

    The subsequence of the ``N_max = 1024`` sequence with indices ``< n`` (TS 38.212 Sec. 5.3.1.2).
    """
    n = _check_n(n)
    seq = np.asarray(POLAR_5G_SEQUENCE, dtype=np.int64)
    return seq[seq < n]


def _log_phi(x: np.ndarray) -> np.ndarray:
    """``log phi(x)`` of Chung's approximation (module docstring), ``x > 0``, float64."""
    x = np.asarray(x, dtype=np.float64)
    small = -0.4527 * np.power(np.minimum(x, 10.0), 0.86) + 0.0218
    xl = np.maximum(x, 10.0)
    large = 0.5 * np.log(np.pi / xl) - xl / 4.0 + np.log1p(-10.0 / (7.0 * xl))
    return np.where(x < 10.0, small, large)


def _log_phi_inverse(t: np.ndarray) -> np.ndarray:
    """``x`` with ``log phi(x) = t`` (``t < 0.0218``) by bisection (``log phi`` is decreasing on either piece)."""
    t = np.asarray(t, dtype=np.float64)
    lo = np.zeros_like(t)
    hi = np.maximum(20.0, -8.0 * t + 40.0)  # log phi(x) <= -x/4 + 1 beyond 10
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        above = _log_phi(mid) > t  # phi(mid) too large: the root is to the right
        lo = np.where(above, mid, lo)
        hi = np.where(above, hi, mid)
    return 0.5 * (lo + hi)


def ga_llr_means(n: int, design_esno_db: float) -> np.ndarray:
    """``float64 [n]``: the Gaussian-approximation mean LLR of each bit channel ``u_i`` (module docstring).

    ``design_esno_db`` is the design Es/N0 in dB (BPSK symbol energy over ``N_0``: ``sigma^2 = 1 / (2 Es/N0)``,
    channel LLR mean ``mu = 2 / sigma^2``). Larger means are more reliable bit channels.
    """
    n = _check_n(n)
    esno_db = float(design_esno_db)
    if not math.isfinite(esno_db):
        raise ValueError(f"design_esno_db must be a finite number of dB, got {design_esno_db!r}")
    mu = np.array([4.0 * 10.0 ** (esno_db / 10.0)])
    for _ in range(int(math.log2(n))):
        lp = _log_phi(np.maximum(mu, 0.1))
        # 1 - (1 - phi)^2 = phi (2 - phi): log phi + log(2 - phi), exact for tiny phi. Near 0 Chung's phi exceeds 1;
        # there the small-mean limit mu^2 / 2 (phi(x) ~ 1 - x/2) takes over, below their crossing at mu ~ 0.4.
        bad = np.minimum(_log_phi_inverse(lp + np.log(2.0 - np.exp(lp))), 0.5 * mu * mu)
        good = 2.0 * mu
        mu = np.stack([bad, good], axis=1).reshape(-1)  # index bit 0 (MSB first): f, bit 1: g
    return mu


def ga_reliability_order(n: int, design_esno_db: float) -> np.ndarray:
    """``int64 [n]``: bit channels by ascending Gaussian-approximation reliability (ties: lower index first)."""
    means = ga_llr_means(n, design_esno_db)
    return np.lexsort((np.arange(means.size), means)).astype(np.int64)


def polar_transform_matrix(n: int) -> np.ndarray:
    """``uint8 [n, n]``: ``G_N = F^{(x)m}``, ``F = [[1, 0], [1, 1]]`` (Kronecker power, no bit reversal)."""
    n = _check_n(n)
    g = np.ones((1, 1), dtype=np.uint8)
    f = np.array([[1, 0], [1, 1]], dtype=np.uint8)
    while g.shape[0] < n:
        g = np.kron(g, f)
    return g


# ------------------------------------------------------------------------------------------------- code
@dataclasses.dataclass(frozen=True)
class PolarCode:
    """A polar code of length ``n = 2^m`` with ``k`` message bits, optionally CRC-aided.

    Attributes:
      n: block length, a power of two in ``[2, 1024]``.
      k: message bits, ``1 <= k <= n - crc_length``.
      info_positions: the ``k + crc_length`` information channels, increasing; the message then its CRC go there.
      crc: the :class:`~neuralcodes_jax.codes.crc.CrcPolynomial` or ``None``.
      name: a label used in reports.

    Hashable (all fields are immutable): the jitted encoder and decoders take the code as a static argument.
    Build with :func:`polar_code`, or directly from a set of information positions.
    """

    n: int
    k: int
    info_positions: tuple[int, ...]
    crc: crc_lib.CrcPolynomial | None = None
    name: str = ""

    def __post_init__(self) -> None:
        n = _check_n(self.n)
        crc = None if self.crc is None else crc_lib.crc_polynomial(self.crc)
        crc_len = 0 if crc is None else crc.length
        k = _check_int("k", self.k, 1)
        if k + crc_len > n:
            raise ValueError(f"k must be <= n - crc_length = {n} - {crc_len} = {n - crc_len} (K > N), got k={k}")
        pos = tuple(int(p) for p in np.asarray(self.info_positions, dtype=np.int64).reshape(-1))
        if len(pos) != k + crc_len:
            raise ValueError(f"info_positions must hold k + crc_length = {k + crc_len} positions, got {len(pos)}")
        if list(pos) != sorted(set(pos)) or (pos and not 0 <= pos[0] <= pos[-1] < n):
            raise ValueError(f"info_positions must be distinct, increasing and in [0, {n - 1}], got {pos}")
        object.__setattr__(self, "n", n)
        object.__setattr__(self, "k", k)
        object.__setattr__(self, "crc", crc)
        object.__setattr__(self, "info_positions", pos)

    @property
    def m(self) -> int:
        """``log2 n``."""
        return self.n.bit_length() - 1

    @property
    def crc_length(self) -> int:
        """Number of CRC bits (0 without a CRC)."""
        return 0 if self.crc is None else self.crc.length

    @property
    def num_info(self) -> int:
        """Information channels ``k + crc_length``."""
        return self.k + self.crc_length

    @property
    def rate(self) -> float:
        """``k / n`` (message bits per code bit; the CRC counts as redundancy)."""
        return self.k / self.n

    @property
    def info_mask(self) -> np.ndarray:
        """``bool [n]``, true on information channels."""
        out = np.zeros(self.n, dtype=bool)
        out[list(self.info_positions)] = True
        return out

    @property
    def frozen_mask(self) -> np.ndarray:
        """``bool [n]``, true on frozen channels."""
        return ~self.info_mask

    @property
    def frozen_positions(self) -> np.ndarray:
        """``int64 [n - k - crc_length]``, increasing."""
        return np.flatnonzero(self.frozen_mask).astype(np.int64)

    @property
    def generator(self) -> np.ndarray:
        """``uint8 [k, n]``: codeword ``= message G mod 2`` (CRC included; rows of ``G_N`` at the info positions)."""
        return _generator(self)

    def __repr__(self) -> str:
        crc = "" if self.crc is None else f", crc={self.crc.name}"
        return f"PolarCode({self.name or 'polar'}: n={self.n}, k={self.k}{crc})"


@functools.lru_cache(maxsize=64)
def _generator(code: PolarCode) -> np.ndarray:
    rows = polar_transform_matrix(code.n)[list(code.info_positions)]
    if code.crc is not None:
        sys = np.concatenate([np.eye(code.k, dtype=np.uint8), crc_lib.crc_generator_matrix(code.crc, code.k)], axis=1)
        rows = gf2.matmul(sys, rows)
    rows = np.ascontiguousarray(rows, dtype=np.uint8)
    rows.setflags(write=False)
    return rows


def polar_code(
    n: int,
    k: int,
    crc: Any = None,
    *,
    construction: str = "5g",
    design_ebno_db: float | None = None,
    name: str | None = None,
) -> PolarCode:
    """A polar code with ``k`` message bits on the ``k + crc_length`` most reliable of ``n`` channels.

    Args:
      n: block length, a power of two in ``[2, 1024]``.
      k: message bits, ``1 <= k <= n - crc_length``.
      crc: ``None`` or a CRC of TS 38.212 Sec. 5.1 (``'CRC6'``, ``'CRC11'``, ``'CRC16'``, ``'CRC24A'``, ...).
      construction: ``'5g'`` (TS 38.212 Table 5.3.1.2-1) or ``'ga'`` (Gaussian approximation; module docstring).
      design_ebno_db: for ``'ga'`` only (required there): design Eb/N0 in dB, ``Es/N0 = (k / n) Eb/N0``.
      name: label; default e.g. ``'polar5g(128,64)+CRC11'``.
    """
    n = _check_n(n)
    crc_poly = None if crc is None else crc_lib.crc_polynomial(crc)
    crc_len = 0 if crc_poly is None else crc_poly.length
    k = _check_int("k", k, 1)
    if k + crc_len > n:
        raise ValueError(f"k must be <= n - crc_length = {n} - {crc_len} = {n - crc_len} (K > N), got k={k}")
    if construction == "5g":
        if design_ebno_db is not None:
            raise ValueError(f"design_ebno_db applies to construction='ga' only, got {design_ebno_db!r}")
        order = polar_5g_sequence(n)
        label = "polar5g"
    elif construction == "ga":
        if design_ebno_db is None:
            raise ValueError("design_ebno_db (dB) is required for construction='ga'")
        esno_db = float(design_ebno_db) + 10.0 * math.log10(k / n)
        order = ga_reliability_order(n, esno_db)
        label = f"polarGA@{float(design_ebno_db):g}dB"
    else:
        raise ValueError(f"construction must be one of {CONSTRUCTIONS}, got {construction!r}")
    info = np.sort(order[n - k - crc_len :])
    if name is None:
        name = f"{label}({n},{k})" + ("" if crc_poly is None else f"+{crc_poly.name}")
    return PolarCode(n, k, tuple(int(i) for i in info), crc_poly, name)


# ----------------------------------------------------------------------------------------------- encoder
def _butterfly(x: jax.Array) -> jax.Array:
    """``x G_N`` over GF(2) along the last axis (any integer dtype holding bits)."""
    n = x.shape[-1]
    lead = x.shape[:-1]
    s = 1
    while s < n:
        y = x.reshape(*lead, n // (2 * s), 2, s)
        x = jnp.stack([y[..., 0, :] ^ y[..., 1, :], y[..., 1, :]], axis=-2).reshape(*lead, n)
        s *= 2
    return x


def _as_bit_array(bits: Any, name: str, width: int) -> jax.Array:
    if not isinstance(bits, jax.Array):
        arr = gf2.as_bits(bits, name)
    else:
        arr = bits
    if arr.ndim != 2 or arr.shape[1] != width:
        raise ValueError(f"{name} must have shape [B, {width}], got {tuple(arr.shape)}")
    return jnp.asarray(arr).astype(jnp.uint8)


def polar_transform(u: Any) -> jax.Array:
    """``uint8 [B, N]``: ``u G_N`` by ``log2 N`` butterfly stages (``G_N`` is an involution: also the inverse)."""
    if not isinstance(u, jax.Array):
        u = gf2.as_bits(u, "u")
    if u.ndim != 2:
        raise ValueError(f"u must have shape [B, N], got {tuple(u.shape)}")
    _check_n(int(u.shape[1]))
    return _transform_jit(jnp.asarray(u).astype(jnp.uint8))


@jax.jit
def _transform_jit(u: jax.Array) -> jax.Array:
    return _butterfly(u)


def _place(code: PolarCode, v: jax.Array) -> jax.Array:
    """``[B, n]``: the ``[B, num_info]`` bits ``v`` on the information channels, zeros elsewhere."""
    idx = np.full(code.n, code.num_info, dtype=np.int32)
    idx[list(code.info_positions)] = np.arange(code.num_info, dtype=np.int32)
    ext = jnp.concatenate([v, jnp.zeros((v.shape[0], 1), v.dtype)], axis=1)
    return jnp.take(ext, jnp.asarray(idx), axis=1, mode="clip")


@functools.partial(jax.jit, static_argnums=0)
def _encode_jit(code: PolarCode, bits: jax.Array) -> jax.Array:
    v = bits if code.crc is None else crc_lib.crc_attach(code.crc, bits)
    return _butterfly(_place(code, v))


def polar_encode(code: PolarCode, bits: Any) -> jax.Array:
    """``uint8 [B, n]`` codewords of messages ``[B, k]`` (CRC attached first if the code has one)."""
    if not isinstance(code, PolarCode):
        raise ValueError(f"code must be a PolarCode, got {type(code).__name__}")
    return _encode_jit(code, _as_bit_array(bits, "bits", code.k))


# ---------------------------------------------------------------------------------------------- decoders
class PolarDecoded(NamedTuple):
    """Output of :func:`sc_decode` / :func:`scl_decode` for ``B`` words.

    Attributes:
      codeword: ``uint8 [B, n]`` codeword decisions ``x = u G_N``.
      message: ``uint8 [B, k]`` message decisions (the first ``k`` information bits).
      crc_pass: ``bool [B]``: the decided information bits pass the CRC (all true without a CRC).
    """

    codeword: jax.Array
    message: jax.Array
    crc_pass: jax.Array


def _check_llr(code: PolarCode, llr: Any) -> jax.Array:
    if not isinstance(code, PolarCode):
        raise ValueError(f"code must be a PolarCode, got {type(code).__name__}")
    if not isinstance(llr, jax.Array):
        llr = np.asarray(llr)
        if llr.dtype.kind not in "iuf":
            raise ValueError(f"llr must hold real numbers, got dtype {llr.dtype}")
        if not np.isfinite(llr).all():
            raise ValueError("llr must not contain NaN or infinite values (inf - inf in g would give NaN)")
    elif not isinstance(llr, jax.core.Tracer) and not bool(jnp.isfinite(llr).all()):
        raise ValueError("llr must not contain NaN or infinite values (inf - inf in g would give NaN)")
    if llr.ndim != 2 or llr.shape[1] != code.n:
        raise ValueError(f"llr must have shape [B, n] with n={code.n}, got {tuple(llr.shape)}")
    if llr.shape[0] < 1:
        raise ValueError("llr must hold at least one word (B >= 1)")
    return jnp.asarray(llr, jnp.float32)


def _f(a: jax.Array, b: jax.Array) -> jax.Array:
    """Min-sum check-node update ``sign(a) sign(b) min(|a|, |b|)``."""
    m = jnp.minimum(jnp.abs(a), jnp.abs(b))
    return jnp.where((a < 0) != (b < 0), -m, m)


def _hd_sign(a: jax.Array) -> jax.Array:
    """Decision as a sign: ``+1`` (bit 0) iff ``a >= 0``."""
    return jnp.where(a < 0, -1.0, 1.0).astype(a.dtype)


@functools.lru_cache(maxsize=256)
def _plan(frozen: tuple[bool, ...], fast: bool) -> tuple:
    """Decoding tree of a frozen pattern: nested ``(kind, size, children...)`` (node kinds in the module docstring)."""
    size = len(frozen)
    if all(frozen):
        return ("rate0", size)
    if size == 1:
        return ("info", 1)
    if fast and not any(frozen):
        return ("rate1", size)
    if fast and all(frozen[:-1]):
        return ("rep", size)
    h = size // 2
    return ("node", size, _plan(frozen[:h], fast), _plan(frozen[h:], fast))


def _message_and_crc(code: PolarCode, x: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Message ``[..., k]`` and CRC flag ``[...]`` of codewords ``x [..., n]`` (uint8)."""
    u = _butterfly(x)
    info = jnp.take(u, jnp.asarray(code.info_positions, dtype=jnp.int32), axis=-1)
    ok = jnp.ones(info.shape[:-1], bool) if code.crc is None else crc_lib.crc_check(code.crc, info)
    return info[..., : code.k], ok


# SC ---------------------------------------------------------------------------------------------------
def _sc_node(plan: tuple, alpha: jax.Array) -> jax.Array:
    kind = plan[0]
    if kind == "rate0":
        return jnp.ones_like(alpha)
    if kind in ("info", "rate1"):
        return _hd_sign(alpha)
    if kind == "rep":
        return jnp.broadcast_to(_hd_sign(alpha.sum(-1, keepdims=True)), alpha.shape)
    h = plan[1] // 2
    a, b = alpha[..., :h], alpha[..., h:]
    beta_l = _sc_node(plan[2], _f(a, b))
    beta_r = _sc_node(plan[3], b + beta_l * a)
    return jnp.concatenate([beta_l * beta_r, beta_r], axis=-1)


@functools.partial(jax.jit, static_argnums=(0, 2))
def _sc_jit(code: PolarCode, llr: jax.Array, fast: bool) -> PolarDecoded:
    plan = _plan(tuple(bool(f) for f in code.frozen_mask), fast)
    beta = _sc_node(plan, llr)
    x = (beta < 0).astype(jnp.uint8)
    msg, ok = _message_and_crc(code, x)
    return PolarDecoded(x, msg, ok)


def sc_decode(code: PolarCode, llr: Any, *, fast: bool = True) -> PolarDecoded:
    """Successive-cancellation decoding (module docstring) of LLRs ``[B, n]``; jit-compiled per code.

    ``fast`` decodes all-frozen, all-information and repetition subtrees in one step (same decisions as bit by bit,
    up to LLRs exactly 0). Raises ValueError on a bad shape, NaN or infinite LLRs (checked when ``llr`` is concrete).
    """
    llr = _check_llr(code, llr)
    return _sc_jit(code, llr, bool(fast))


# SCL --------------------------------------------------------------------------------------------------
def _gather_paths(x: jax.Array, perm: jax.Array | None) -> jax.Array:
    """``x[b, perm[b, j], ...]`` along the list axis 1 (no-op without a permutation or for a shared ``x``)."""
    if perm is None or x.shape[1] == 1:
        return x
    batch, lsize = perm.shape
    rows = (perm + lsize * jnp.arange(batch, dtype=perm.dtype)[:, None]).reshape(-1)
    out = jnp.take(x.reshape((batch * lsize,) + x.shape[2:]), rows, axis=0, mode="clip")
    return out.reshape(x.shape)


def _compose(first: jax.Array | None, then: jax.Array | None) -> jax.Array | None:
    if first is None:
        return then
    if then is None:
        return first
    return _gather_paths(first, then)


def _prune(cand: jax.Array, list_size: int) -> tuple[jax.Array, jax.Array]:
    """The ``list_size`` smallest of ``cand [B, C]``: their values and indices (``lax.top_k``; on XLA:CPU it beat a
    bitonic selection network in batch-major layout)."""
    neg, idx = jax.lax.top_k(-cand, list_size)
    return -neg, idx


def _scl_fork(pm: jax.Array, pen0: jax.Array, pen1: jax.Array, list_size: int):
    """Children of every path with metrics ``pm + pen0`` / ``pm + pen1``; keeps the best ``list_size``.

    Returns the new metrics, the parent of each surviving path and whether it took the second branch.
    """
    cand = jnp.concatenate([pm + pen0, pm + pen1], axis=1)
    pm, idx = _prune(cand, list_size)
    return pm, idx % list_size, idx >= list_size


def _scl_node(plan: tuple, alpha: jax.Array, pm: jax.Array, list_size: int):
    """Decodes a subtree for every path: alpha ``[B, L or 1, n_v]``, pm ``[B, L]``.

    Returns ``(beta [B, L or 1, n_v] signs, pm [B, L], perm [B, L] or None)``; ``perm[b, j]`` is the path (at entry)
    that path ``j`` (at exit) descends from.
    """
    kind, size = plan[0], plan[1]
    if kind == "rate0":
        return jnp.ones_like(alpha), pm + jnp.maximum(-alpha, 0.0).sum(-1), None
    if kind == "info":
        a = alpha[..., 0]
        pm, parent, one = _scl_fork(pm, jnp.maximum(-a, 0.0), jnp.maximum(a, 0.0), list_size)
        return jnp.where(one, -1.0, 1.0)[..., None].astype(alpha.dtype), pm, parent
    if kind == "rep":
        pen0 = jnp.maximum(-alpha, 0.0).sum(-1)
        pen1 = jnp.maximum(alpha, 0.0).sum(-1)
        pm, parent, one = _scl_fork(pm, pen0, pen1, list_size)
        beta = jnp.broadcast_to(jnp.where(one, -1.0, 1.0)[..., None], pm.shape + (size,)).astype(alpha.dtype)
        return beta, pm, parent
    if kind == "rate1":
        return _scl_rate1(alpha, pm, list_size)
    h = size // 2
    beta_l, pm, perm_l = _scl_node(plan[2], _f(alpha[..., :h], alpha[..., h:]), pm, list_size)
    alpha = _gather_paths(alpha, perm_l)
    beta_r, pm, perm_r = _scl_node(plan[3], alpha[..., h:] + beta_l * alpha[..., :h], pm, list_size)
    if perm_r is not None and perm_l is not None and beta_l.shape[1] > 1:
        # One gather for the left decisions and the composed permutation (small integers are exact in float32).
        both = _gather_paths(jnp.concatenate([beta_l, perm_l[..., None].astype(beta_l.dtype)], axis=-1), perm_r)
        beta_l, perm = both[..., :h], both[..., h].astype(perm_r.dtype)
    else:
        beta_l, perm = _gather_paths(beta_l, perm_r), _compose(perm_l, perm_r)
    left = beta_l * beta_r
    return jnp.concatenate([left, jnp.broadcast_to(beta_r, left.shape)], axis=-1), pm, perm


def _scl_rate1(alpha: jax.Array, pm: jax.Array, list_size: int):
    """All-information subtree: forks on the ``min(L - 1, n_v)`` least reliable positions of each path.

    Each step forks every path into "keep the hard decision" (``+0``) and "flip one of those positions"
    (``+|alpha|``). The order of the steps does not change the list (a partial path's metric is that of its best
    completion, all later positions at their hard decisions), so only the set of positions is selected (none when
    ``n_v <= L - 1``). The steps record parents and choices only; the flips are traced back once at the end."""
    size = alpha.shape[-1]
    steps = min(list_size - 1, size)
    hd = _hd_sign(alpha)
    if steps == 0:
        return hd, pm, None
    if steps == size:  # every position: no selection (the order of the steps does not matter)
        vals = jnp.abs(alpha)
        pos = jnp.broadcast_to(jnp.arange(size, dtype=jnp.int32), alpha.shape)
    else:
        neg, pos = jax.lax.top_k(-jnp.abs(alpha), steps)  # [B, L or 1, steps], the least reliable positions
        vals = -neg
    parents, ones, origin = [], [], None
    for t in range(steps):
        pm, parent, one = _scl_fork(pm, jnp.zeros((), pm.dtype), _gather_paths(vals[..., t], origin), list_size)
        parents.append(parent)
        ones.append(one)
        origin = _compose(origin, parent)
    beta = jnp.broadcast_to(_gather_paths(hd, origin), pm.shape + (size,))
    pos = _gather_paths(pos, origin)
    where = jnp.arange(size, dtype=pos.dtype)
    anc = None  # the path at step t of each final path
    for t in reversed(range(steps)):
        flip = _gather_paths(ones[t], anc)
        anc = _compose(parents[t], anc) if anc is not None else parents[t]
        beta = jnp.where((pos[..., t : t + 1] == where) & flip[..., None], -beta, beta)
    return beta, pm, origin


@functools.partial(jax.jit, static_argnums=(0, 2, 3, 4))
def _scl_jit(code: PolarCode, llr: jax.Array, list_size: int, crc_aided: bool, fast: bool) -> PolarDecoded:
    plan = _plan(tuple(bool(f) for f in code.frozen_mask), fast)
    batch = llr.shape[0]
    pm0 = jnp.full((batch, list_size), jnp.inf, llr.dtype).at[:, 0].set(0.0)
    beta, pm, _ = _scl_node(plan, llr[:, None, :], pm0, list_size)
    beta = jnp.broadcast_to(beta, (batch, list_size, code.n))
    x = (beta < 0).astype(jnp.uint8)  # [B, L, n]
    msg, ok = _message_and_crc(code, x)
    ok = ok & jnp.isfinite(pm)
    if crc_aided and code.crc is not None:
        score = jnp.where(ok.any(axis=1, keepdims=True), jnp.where(ok, pm, jnp.inf), pm)
    else:
        score = pm
    best = jnp.argmin(score, axis=1)[:, None]
    pick = lambda v: jnp.take_along_axis(v, best.reshape(best.shape + (1,) * (v.ndim - 2)), axis=1)[:, 0]
    return PolarDecoded(pick(x), pick(msg), pick(ok))


def scl_decode(
    code: PolarCode, llr: Any, list_size: int = 8, *, crc_aided: bool = True, fast: bool = True
) -> PolarDecoded:
    """Successive-cancellation list decoding (module docstring) of LLRs ``[B, n]``; jit-compiled per code/options.

    Args:
      code: a :class:`PolarCode`.
      llr: ``[B, n]`` channel LLRs ``log P(x=0|y) / P(x=1|y)``, NumPy or JAX.
      list_size: ``L`` in :data:`LIST_SIZES` (powers of two 1 ... 32).
      crc_aided: with a CRC, return the most likely path passing it (else the most likely path). False, or a code
        without CRC: the most likely path.
      fast: decode all-frozen, repetition and all-information subtrees in one step (same list, up to ties).

    Returns:
      :class:`PolarDecoded` (JAX arrays).

    Raises:
      ValueError: bad ``list_size``, ``llr`` shape, NaN or infinite LLRs (checked when ``llr`` is concrete).
    """
    if isinstance(list_size, bool) or not isinstance(list_size, (int, np.integer)) or int(list_size) not in LIST_SIZES:
        raise ValueError(f"list_size must be a power of two in {LIST_SIZES}, got {list_size!r}")
    llr = _check_llr(code, llr)
    return _scl_jit(code, llr, int(list_size), bool(crc_aided), bool(fast))
