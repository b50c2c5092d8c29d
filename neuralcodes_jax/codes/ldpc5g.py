"""5G NR LDPC codes (3GPP TS 38.212 sec. 5.3.2): base graphs, lifting, encoding, simple rate matching and BP.

Tables (TS 38.212 V15+): the lifting sizes ``Z = a 2^j <= 384`` in eight sets ``i_LS = 0..7`` (Table 5.3.2-1), and
base graph 1 (``46 x 68``, 316 nonzero entries, Table 5.3.2-2) and base graph 2 (``42 x 52``, 197 entries, Table
5.3.2-3) with a shift value ``V_ij`` per set. They ship in ``codes/data/nr_ldpc_bg{1,2}.txt``. The lifted ``H`` replaces
each nonzero entry by the ``Z x Z`` identity cyclically shifted to the right by ``P_ij = V_ij mod Z`` (row ``a`` has its
one in column ``(a + P_ij) mod Z``) and every empty entry by zeros (sec. 5.3.2).

Codeword ``c = [s, p_core, p_ext]`` (sec. 5.3.2): ``K_c Z`` systematic bits (``K_c = 22`` for BG1, 10 for BG2), then
``4Z`` core parity bits solved from the base graph's first four rows (a double-diagonal block ``B``: summing the four
row blocks leaves one circulant times ``p_0``; :meth:`NrLdpcCode.encode_mother`), then one extension parity block
per further row (each row's extension column is an identity of its own). ``H`` has full rank: ``k = K_c Z``.

Code selection (single code block, no CRC here): base graph by the rule of sec. 6.2.2 / 7.2.2 applied to ``K`` and
``R = K / n`` (BG2 if ``K <= 292``, or ``K <= 3824`` and ``R <= 0.67``, or ``R <= 0.25``; else BG1), then ``K_b``
(22 for BG1; for BG2 10, 9, 8 or 6 as ``K > 640, > 560, > 192`` or not; sec. 5.2.2) and ``Z``, the smallest lifting
size of all sets with ``K_b Z >= K``. The ``K_c Z - K`` last systematic positions are filler bits (zeros, known to
the decoder, not sent). Rate matching reduced to redundancy version 0 without repetition (sec. 5.4.2.1): the first
``2Z`` systematic bits are punctured, and the ``n`` bits sent are the first ``n`` of the rest with the filler bits
skipped: ``c[2Z:K]`` then ``c[K_c Z:...]``.

Decoding (:meth:`NrLdpcCode.decode`) runs :func:`neuralcodes_jax.codes.ldpc.bp_decode` on the lifted graph pruned to
the row/column blocks that touch a sent bit (an untransmitted extension block is a degree-1 variable with LLR 0 on
its own row block: it and its checks carry no information), with LLR 0 on the punctured positions and on unsent
parity bits of the last block, ``+llr_clip`` on the filler bits. Its layers for ``schedule='layered'`` are the row
blocks (``Z`` checks each, no two sharing a variable since each circulant is a permutation).
"""

from __future__ import annotations

import dataclasses
import functools
import importlib.resources
import numbers
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import scipy.sparse

from neuralcodes_jax.codes import gf2, ldpc
from neuralcodes_jax.config_utils import check_int as _check_int

__all__ = [
    "LIFTING_SETS",
    "LIFTING_SIZES",
    "BASE_GRAPH_SHAPES",
    "MAX_K",
    "lifting_set_index",
    "base_graph_table",
    "base_matrix",
    "lifted_parity_check",
    "select_base_graph",
    "select_lifting",
    "NrLdpcCode",
    "NrLdpcResult",
    "nr_ldpc",
]

LIFTING_SETS = (
    (2, 4, 8, 16, 32, 64, 128, 256),
    (3, 6, 12, 24, 48, 96, 192, 384),
    (5, 10, 20, 40, 80, 160, 320),
    (7, 14, 28, 56, 112, 224),
    (9, 18, 36, 72, 144, 288),
    (11, 22, 44, 88, 176, 352),
    (13, 26, 52, 104, 208),
    (15, 30, 60, 120, 240),
)
"""TS 38.212 Table 5.3.2-1: the lifting sizes ``Z = a 2^j <= 384`` of set ``i_LS`` (``a = 2, 3, 5, ..., 15``)."""

LIFTING_SIZES = tuple(sorted(z for s in LIFTING_SETS for z in s))
"""All 51 lifting sizes of the standard, ascending."""

BASE_GRAPH_SHAPES = {1: (46, 68), 2: (42, 52)}
"""Rows and columns of base graphs 1 and 2 (TS 38.212 Tables 5.3.2-2, 5.3.2-3)."""

MAX_K = {1: 8448, 2: 3840}
"""Largest code block ``K`` per base graph (``K_cb``, TS 38.212 sec. 5.2.2): ``22 * 384`` and ``10 * 384``."""

_INFO_COLUMNS = {1: 22, 2: 10}
_CORE = 4  # rows (and parity columns) of the double-diagonal core


# --------------------------------------------------------------------------------------------------- tables
def _check_bg(bg: Any) -> int:
    if isinstance(bg, bool) or not isinstance(bg, (numbers.Integral, np.integer)) or int(bg) not in (1, 2):
        raise ValueError(f"bg (the base graph) must be 1 or 2, got {bg!r}")
    return int(bg)


def lifting_set_index(z: Any) -> int:
    """Set index ``i_LS`` of lifting size ``z`` (TS 38.212 Table 5.3.2-1); ValueError if ``z`` is not one."""
    if isinstance(z, bool) or not isinstance(z, (numbers.Integral, np.integer)) or int(z) not in LIFTING_SIZES:
        raise ValueError(
            f"z must be a lifting size of TS 38.212 Table 5.3.2-1 (a*2^j <= 384, a in 2,3,5,...,15: "
            f"{', '.join(map(str, LIFTING_SIZES))}), got {z!r}"
        )
    return next(i for i, s in enumerate(LIFTING_SETS) if int(z) in s)


@functools.cache
def base_graph_table(bg: int) -> np.ndarray:
    """``int16 [m_b, n_b, 8]``: ``V_ij`` of base graph ``bg`` for the sets ``i_LS = 0..7``, -1 on empty entries.

    TS 38.212 Table 5.3.2-2 (BG1) / 5.3.2-3 (BG2), read from the package's data file and checked for the structure
    the encoder relies on (double-diagonal core, identity extension columns).
    """
    bg = _check_bg(bg)
    text = importlib.resources.files("neuralcodes_jax.codes").joinpath(f"data/nr_ldpc_bg{bg}.txt").read_text("ascii")
    rows = np.loadtxt(text.splitlines(), dtype=np.int64, comments="#", ndmin=2)
    mb, nb = BASE_GRAPH_SHAPES[bg]
    table = np.full((mb, nb, 8), -1, np.int16)
    table[rows[:, 0], rows[:, 1]] = rows[:, 2:]
    kc = _INFO_COLUMNS[bg]
    present = table[..., 0] >= 0
    # Core parity columns kc+1..kc+3: the double diagonal, shift 0 (for every set).
    diag = np.array([[1, 0, 0], [1, 1, 0], [0, 1, 1], [0, 0, 1]], bool)
    assert np.array_equal(present[:_CORE, kc + 1 : kc + _CORE], diag)
    assert (table[:_CORE, kc + 1 : kc + _CORE][diag] == 0).all()
    assert not present[:_CORE, kc + _CORE :].any()  # the core rows have no extension column
    # Extension: row i >= 4 has column kc + i (shift 0) as its only extension column.
    ext = present[_CORE:, kc + _CORE :]
    assert np.array_equal(ext, np.eye(mb - _CORE, dtype=bool))
    assert (np.diagonal(table[_CORE:, kc + _CORE :, :], axis1=0, axis2=1) == 0).all()
    table.setflags(write=False)
    return table


@functools.cache
def base_matrix(bg: int, z: int) -> np.ndarray:
    """``int32 [m_b, n_b]`` shifts ``P_ij = V_ij mod Z`` of base graph ``bg`` at lifting size ``z`` (set ``i_LS`` of
    ``z``), -1 on empty entries (TS 38.212 sec. 5.3.2)."""
    bg = _check_bg(bg)
    i_ls = lifting_set_index(z)
    v = base_graph_table(bg)[..., i_ls].astype(np.int32)
    out = np.where(v >= 0, v % int(z), -1).astype(np.int32)
    out.setflags(write=False)
    return out


def _lifted_edges(shifts: np.ndarray, z: int) -> tuple[np.ndarray, np.ndarray]:
    """Row and column indices of the ones of the lifted matrix of a shift matrix (-1 = zero block)."""
    br, bc = np.nonzero(shifts >= 0)
    a = np.arange(z)
    rows = (br[:, None] * z + a[None, :]).reshape(-1)
    cols = (bc[:, None] * z + (a[None, :] + shifts[br, bc][:, None]) % z).reshape(-1)
    return rows, cols


def lifted_parity_check(bg: int, z: int, *, sparse: bool = False) -> Any:
    """Parity-check matrix ``H [m_b Z, n_b Z]`` of base graph ``bg`` lifted by ``z`` (TS 38.212 sec. 5.3.2).

    ``uint8`` NumPy array, or a ``scipy.sparse.csr_matrix`` if ``sparse`` (BG1 at ``Z = 384`` is 17664 x 26112).
    ValueError if ``bg`` is not 1 or 2 or ``z`` not a lifting size.
    """
    shifts = base_matrix(bg, z)
    rows, cols = _lifted_edges(shifts, int(z))
    shape = (shifts.shape[0] * int(z), shifts.shape[1] * int(z))
    if sparse:
        return scipy.sparse.csr_matrix((np.ones(rows.size, np.uint8), (rows, cols)), shape=shape)
    h = np.zeros(shape, np.uint8)
    h[rows, cols] = 1
    return h


# ------------------------------------------------------------------------------------------------ selection
def select_base_graph(k: int, rate: float) -> int:
    """Base graph for ``K`` bits at rate ``R`` (TS 38.212 sec. 6.2.2 / 7.2.2, applied to ``K``): 2 if ``K <= 292``,
    or ``K <= 3824`` and ``R <= 0.67``, or ``R <= 0.25``; else 1."""
    k = _check_int("k", k, 1)
    if isinstance(rate, bool) or not isinstance(rate, (numbers.Real, np.generic)) or not 0.0 < float(rate) <= 1.0:
        raise ValueError(f"rate must be a real number in (0, 1], got {rate!r}")
    rate = float(rate)
    if k <= 292 or (k <= 3824 and rate <= 0.67) or rate <= 0.25:
        return 2
    return 1


def select_lifting(k: int, bg: int) -> tuple[int, int, int]:
    """``(Z, i_LS, K_b)`` for ``K`` bits on base graph ``bg`` (TS 38.212 sec. 5.2.2): ``K_b = 22`` (BG1), or for
    BG2 10, 9, 8, 6 as ``K > 640``, ``> 560``, ``> 192`` or not; ``Z`` the smallest lifting size with ``K_b Z >= K``.
    ValueError if ``K`` exceeds :data:`MAX_K` of the graph."""
    bg = _check_bg(bg)
    k = _check_int("k", k, 1)
    if k > MAX_K[bg]:
        raise ValueError(f"k must be <= {MAX_K[bg]} for base graph {bg} (TS 38.212 5.2.2), got k={k}")
    if bg == 1:
        kb = 22
    else:
        kb = 10 if k > 640 else 9 if k > 560 else 8 if k > 192 else 6
    z = next(z for z in LIFTING_SIZES if kb * z >= k)
    return z, lifting_set_index(z), kb


# ------------------------------------------------------------------------------------------------- the code
class NrLdpcResult(NamedTuple):
    """Output of :meth:`NrLdpcCode.decode` for ``B`` words.

    Attributes:
      message: ``uint8 [B, k]`` decided information bits.
      codeword: ``uint8 [B, n]`` decided transmitted bits.
      converged: ``bool [B]``, zero syndrome on the (pruned) mother code.
      iterations: ``int32 [B]``, BP iterations run.
    """

    message: jax.Array
    codeword: jax.Array
    converged: jax.Array
    iterations: jax.Array


def _xor_gather(x: jax.Array, idx: np.ndarray) -> jax.Array:
    """``y[b, r, a] = XOR_d x[b, idx[r, d, a]]`` for bits ``x [B, N]`` (index ``N`` reads a zero)."""
    xp = jnp.concatenate([x, jnp.zeros((x.shape[0], 1), x.dtype)], axis=1)
    g = jnp.take(xp, jnp.asarray(idx), axis=1, mode="clip")  # [B, R, D, Z]
    return jnp.bitwise_and(jnp.sum(g, axis=2, dtype=jnp.int32), 1).astype(jnp.uint8)


def _circulant_table(shifts: np.ndarray, z: int, pad: int) -> np.ndarray:
    """Gather indices ``[R, D, Z]`` of the rows of a shift matrix ``[R, C]``: ``(P x)[a] = x[(a + P) mod Z]`` per
    nonzero block, padded with index ``pad`` (zero)."""
    deg = max(int((row >= 0).sum()) for row in shifts)
    out = np.full((shifts.shape[0], max(deg, 1), z), pad, np.int32)
    a = np.arange(z)
    for r, row in enumerate(shifts):
        for d, c in enumerate(np.flatnonzero(row >= 0)):
            out[r, d] = c * z + (a + row[c]) % z
    return out


@dataclasses.dataclass(frozen=True, eq=False)
class NrLdpcCode:
    """A 5G NR LDPC code with ``k`` information bits sent in ``n`` bits (module docstring; :func:`nr_ldpc`).

    Attributes:
      k, n: information and transmitted bits.
      bg: base graph (1 or 2); z: lifting size; i_ls: its set; k_b: the ``K_b`` used to choose ``Z``.
    """

    k: int
    n: int
    bg: int
    z: int
    i_ls: int
    k_b: int

    @classmethod
    def lifted(cls, bg: int, z: int, *, k: int | None = None, n: int | None = None) -> NrLdpcCode:
        """The code of base graph ``bg`` at lifting size ``z`` directly (no selection from ``k``): ``k`` information
        bits (default ``K_c Z``, at most that), ``n`` sent bits (default all: the mother codeword less filler and
        punctured bits). ValueError naming ``bg``, ``z``, ``k`` or ``n`` when out of range."""
        bg = _check_bg(bg)
        i_ls = lifting_set_index(z)
        z = int(z)
        kc = _INFO_COLUMNS[bg]
        k = kc * z if k is None else _check_int("k", k, 1, kc * z)
        available = BASE_GRAPH_SHAPES[bg][1] * z - (kc * z - k) - min(2 * z, k)
        n = available if n is None else _check_int("n", n, k + 1, available)
        return cls(k, n, bg, z, i_ls, kc)

    # ------------------------------------------------------------------------------------------ sizes
    @property
    def info_columns(self) -> int:
        """``K_c``: systematic block columns of the base graph (22 or 10)."""
        return _INFO_COLUMNS[self.bg]

    @property
    def k_ldpc(self) -> int:
        """Systematic bits of the mother code, ``K_c Z`` (``k`` information bits + filler bits)."""
        return self.info_columns * self.z

    @property
    def n_ldpc(self) -> int:
        """Length of the mother codeword, ``n_b Z``."""
        return BASE_GRAPH_SHAPES[self.bg][1] * self.z

    @property
    def num_filler(self) -> int:
        return self.k_ldpc - self.k

    @property
    def rate(self) -> float:
        return self.k / self.n

    @property
    def num_row_blocks(self) -> int:
        """Row blocks (layers) kept for decoding: the core 4 and the extension blocks holding a sent bit."""
        sent_parity = self.n - max(self.k - 2 * self.z, 0)
        return max(_CORE, -(-sent_parity // self.z))

    @property
    def n_decoder(self) -> int:
        """Variables of the pruned decoding graph, ``(K_c + row blocks) Z``."""
        return (self.info_columns + self.num_row_blocks) * self.z

    @functools.cached_property
    def shifts(self) -> np.ndarray:
        """``int32 [m_b, n_b]`` circulant shifts of this lifting size (:func:`base_matrix`)."""
        return base_matrix(self.bg, self.z)

    @functools.cached_property
    def transmitted_positions(self) -> np.ndarray:
        """``int64 [n]``: mother-codeword position of each sent bit (``c[2Z:K]``, then from ``c[K_c Z]`` on)."""
        sys = np.arange(2 * self.z, self.k)
        par = self.k_ldpc + np.arange(self.n - sys.size)
        out = np.concatenate([sys, par]).astype(np.int64)
        out.setflags(write=False)
        return out

    def parity_check(self, *, sparse: bool = False) -> Any:
        """The mother code's full lifted ``H`` (:func:`lifted_parity_check`)."""
        return lifted_parity_check(self.bg, self.z, sparse=sparse)

    @functools.cached_property
    def graph(self) -> ldpc.TannerGraph:
        """Tanner graph of the pruned decoding matrix (first ``num_row_blocks`` row blocks, ``n_decoder`` columns)."""
        rb = self.num_row_blocks
        rows, cols = _lifted_edges(self.shifts[:rb, : self.info_columns + rb], self.z)
        return ldpc.TannerGraph.from_edges(rows, cols, rb * self.z, self.n_decoder)

    @functools.cached_property
    def layers(self) -> tuple[np.ndarray, ...]:
        """The decoding graph's row blocks, the layers of ``schedule='layered'``."""
        return tuple(np.arange(i * self.z, (i + 1) * self.z, dtype=np.int32) for i in range(self.num_row_blocks))

    def ldpc_code(self, *, full: bool = True) -> ldpc.LdpcCode:
        """The mother code (``full``) or the pruned decoding code as an :class:`ldpc.LdpcCode` (dense ``H`` with
        exact GF(2) rank: for small ``Z`` only)."""
        rb = BASE_GRAPH_SHAPES[self.bg][0] if full else self.num_row_blocks
        rows, cols = _lifted_edges(self.shifts[:rb, : self.info_columns + rb], self.z)
        h = np.zeros((rb * self.z, (self.info_columns + rb) * self.z), np.uint8)
        h[rows, cols] = 1
        return ldpc.LdpcCode(h, f"NR LDPC BG{self.bg} Z={self.z}")

    # ------------------------------------------------------------------------------------------ encoding
    @functools.cached_property
    def _encoder_tables(self) -> dict[str, Any]:
        z, kc = self.z, self.info_columns
        p = self.shifts
        n_core = (kc + _CORE) * z
        tables = {"a": _circulant_table(p[:_CORE, :kc], z, kc * z)}
        col = p[:_CORE, kc]
        shifts, counts = np.unique(col[col >= 0], return_counts=True)
        odd = shifts[counts % 2 == 1]
        assert odd.size == 1, "the core's first parity column must sum to one circulant"
        a = np.arange(z)
        tables["p0"] = (a - int(odd[0])) % z  # P^{-1} y: y[(a - P) mod Z]
        for r in (0, 2, 3):
            tables[f"r{r}"] = None if col[r] < 0 else (a + int(col[r])) % z
        ext = p[_CORE:, : kc + _CORE]
        tables["ext"] = _circulant_table(ext, z, n_core)
        return tables

    def _encode_core_and_ext(self, s: jax.Array, ext_rows: int) -> jax.Array:
        t = self._encoder_tables
        lam = _xor_gather(s, t["a"])  # [B, 4, Z]
        total = lam[:, 0] ^ lam[:, 1] ^ lam[:, 2] ^ lam[:, 3]
        p0 = total[:, t["p0"]]

        def shifted(r: int) -> jax.Array:
            return p0[:, t[f"r{r}"]] if t[f"r{r}"] is not None else jnp.zeros_like(p0)

        p1 = lam[:, 0] ^ shifted(0)
        p3 = lam[:, 3] ^ shifted(3)
        p2 = lam[:, 2] ^ shifted(2) ^ p3
        core = jnp.concatenate([s, p0, p1, p2, p3], axis=1)
        if ext_rows == 0:
            return core
        ext = _xor_gather(core, t["ext"][:ext_rows])  # [B, R, Z]
        return jnp.concatenate([core, ext.reshape(ext.shape[0], -1)], axis=1)

    def _as_bits(self, bits: Any, width: int, name: str) -> tuple[Any, bool]:
        is_jax = isinstance(bits, jax.Array)
        if not is_jax:
            bits = gf2.as_bits(bits, name)
        if bits.ndim != 2 or bits.shape[1] != width:
            raise ValueError(f"{name} must have shape [B, {width}], got {tuple(bits.shape)}")
        return jnp.asarray(bits, jnp.uint8), is_jax

    def encode_mother(self, bits: Any) -> Any:
        """Full mother codewords ``uint8 [B, n_ldpc]`` (filler bits 0, all parity bits) of ``bits [B, k]``; systematic:
        ``c[:, :k] = bits``. NumPy in, NumPy out; JAX in (jit-safe), JAX out."""
        u, is_jax = self._as_bits(bits, self.k, "bits")
        out = _encode_jit(self, u, True)
        return out if is_jax else np.asarray(out)

    def encode(self, bits: Any) -> Any:
        """Transmitted codewords ``uint8 [B, n]`` of ``bits [B, k]`` (mother codeword at
        :attr:`transmitted_positions`). NumPy in, NumPy out; JAX in (jit-safe), JAX out."""
        u, is_jax = self._as_bits(bits, self.k, "bits")
        out = _encode_jit(self, u, False)
        return out if is_jax else np.asarray(out)

    def _encode(self, u: jax.Array, full: bool) -> jax.Array:
        s = jnp.concatenate([u, jnp.zeros((u.shape[0], self.num_filler), jnp.uint8)], axis=1)
        rows = BASE_GRAPH_SHAPES[self.bg][0] if full else self.num_row_blocks
        c = self._encode_core_and_ext(s, rows - _CORE)
        return c if full else c[:, self.transmitted_positions]

    # ------------------------------------------------------------------------------------------ decoding
    def decoder_llr(self, llr: Any, llr_clip: float = ldpc.DEFAULT_LLR_CLIP) -> jax.Array:
        """Channel LLRs ``[B, n]`` -> LLRs ``[B, n_decoder]`` of the pruned graph: 0 on punctured and unsent bits,
        ``+llr_clip`` on filler bits (known zeros). JAX, jit-safe."""
        llr = jnp.asarray(llr, jnp.float32)
        b = llr.shape[0]
        out = jnp.zeros((b, self.n_decoder), jnp.float32)
        out = out.at[:, self.k : self.k_ldpc].set(jnp.float32(llr_clip))
        return out.at[:, self.transmitted_positions].set(llr)

    def decode(
        self,
        llr: Any,
        *,
        schedule: str = "layered",
        algorithm: str = "sum_product",
        max_iters: int = 20,
        alpha: float | None = None,
        beta: float | None = None,
        llr_clip: float = ldpc.DEFAULT_LLR_CLIP,
        **kwargs: Any,
    ) -> NrLdpcResult:
        """BP decoding of channel LLRs ``[B, n]`` (``log P(0)/P(1)``, :func:`ldpc.channel_llr`).

        Runs :func:`ldpc.bp_decode` on :attr:`graph` with :meth:`decoder_llr`; ``schedule='layered'`` uses the
        row blocks (:attr:`layers`). Other keyword arguments (``compaction``, ``tile``) go to ``bp_decode``.
        """
        if not isinstance(llr, jax.Array):
            llr = np.asarray(llr)
            if llr.dtype.kind not in "iuf":
                raise ValueError(f"llr must hold real numbers, got dtype {llr.dtype}")
            if np.isnan(llr).any():
                raise ValueError("llr must not contain NaN")
        if llr.ndim != 2 or llr.shape[1] != self.n:
            raise ValueError(f"llr must have shape [B, n] with n={self.n}, got {tuple(llr.shape)}")
        full = self.decoder_llr(llr, llr_clip)
        if not isinstance(llr, jax.core.Tracer):
            full = np.asarray(full)
        layers = self.layers if schedule == "layered" else None
        r = ldpc.bp_decode(
            self.graph,
            full,
            schedule=schedule,
            algorithm=algorithm,
            max_iters=max_iters,
            alpha=alpha,
            beta=beta,
            llr_clip=llr_clip,
            layers=layers,
            **kwargs,
        )
        return NrLdpcResult(r.bits[:, : self.k], r.bits[:, self.transmitted_positions], r.converged, r.iterations)

    def __repr__(self) -> str:
        return (
            f"NrLdpcCode(k={self.k}, n={self.n}, bg={self.bg}, z={self.z}, i_ls={self.i_ls}, "
            f"decoder graph {self.num_row_blocks * self.z} x {self.n_decoder})"
        )


@functools.partial(jax.jit, static_argnums=(0, 2))
def _encode_jit(code: NrLdpcCode, u: jax.Array, full: bool) -> jax.Array:
    return code._encode(u, full)


@functools.cache
def _nr_ldpc_cached(k: int, n: int, bg: int) -> NrLdpcCode:
    z, i_ls, kb = select_lifting(k, bg)
    code = NrLdpcCode(k, n, bg, z, i_ls, kb)
    available = code.n_ldpc - code.num_filler - min(2 * z, k)
    if n > available:
        raise ValueError(
            f"n must be <= {available} for k={k} on base graph {bg} (Z={z}: {code.n_ldpc} mother bits "
            f"less {code.num_filler} filler and {min(2 * z, k)} punctured; repetition is not supported), "
            f"got n={n}"
        )
    return code


def nr_ldpc(k: int, n: int, *, bg: int | None = None) -> NrLdpcCode:
    """The 5G NR LDPC code sending ``k`` information bits in ``n`` bits (TS 38.212 sec. 5.2.2, 5.3.2, 5.4.2.1).

    Args:
      k: information bits ``K`` (a single code block without CRC), ``1 <= K <= 8448`` (3840 on BG2).
      n: transmitted bits, ``k < n <=`` the mother codeword less filler bits and the ``2Z`` punctured bits.
      bg: base graph 1 or 2, or None for the standard's choice from ``K`` and ``R = k / n``
        (:func:`select_base_graph`).

    ``nr_ldpc(64, 128)`` is the (128, 64) code of BG2 with ``Z = 11``. Codes are cached (same object per arguments).
    Raises ValueError naming ``k``, ``n`` or ``bg`` when out of range.
    """
    k = _check_int("k", k, 1, MAX_K[1])
    n = _check_int("n", n, k + 1)
    bg = select_base_graph(k, k / n) if bg is None else _check_bg(bg)
    return _nr_ldpc_cached(k, n, bg)
