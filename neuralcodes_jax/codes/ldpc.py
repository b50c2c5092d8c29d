"""LDPC codes: Gallager and PEG regular constructions, alist I/O, channel LLRs and a batched jitted BP decoder.

Gallager's construction (1962, sec. II): ``m = n d_v / d_c`` rows in ``d_v`` bands; in the first, row ``i`` has ones
on columns ``i d_c ... (i + 1) d_c - 1``, the others are random column permutations of it; 4-cycles can be broken by
weight-preserving column swaps inside a band (:func:`gallager_regular`). Progressive edge growth (Hu, Eleftheriou,
Arnold 2005) adds edges one at a time, each closing the longest cycle it can (:func:`peg_regular`). Such ``H`` is
almost never full rank (each band sums to the all-ones row, ``rank <= m - d_v + 1``): :class:`LdpcCode` reports the
true rank, ``k = n - rank`` and rate (coding-anchors sec. 1.2: (3,6) with ``n = 1008`` has ``k = 506``, not 504).

LLR sign (here and in :mod:`neuralcodes_jax.channels`): ``L = log P(x=0|y) / P(x=1|y)``, hard decision ``x = 1`` iff
``L < 0``; AWGN with BPSK ``0 -> +1, 1 -> -1`` gives ``L = 2 y / sigma^2`` (:func:`channel_llr`). Sionna uses the
opposite sign (logits of a 1).

BP (:func:`bp_decode`, coding-anchors sec. 1.3) floods from ``m_{v->c} = L_v``; iteration ``t = 1, 2, ...`` is: check
update, sum-product ``m_{c->v} = 2 atanh(prod_{v' != v} tanh(m_{v'->c} / 2))`` or normalised min-sum
``alpha prod_{v' != v} sign(m_{v'->c}) min_{v' != v} |m_{v'->c}|``; posterior ``L_v + sum_c m_{c->v}``, hard
decision and syndrome test (a word with zero syndrome is *converged*: decision and iteration count frozen); then
``m_{v->c}`` = posterior minus ``m_{c->v}``. This is the C++ ``ldpc.BpDecoder`` schedule (``schedule='parallel'``:
iterations counted from 1, decision after the check update).

Offset min-sum (Chen and Fossorier 2002) takes the magnitude ``alpha max(min - beta, 0)`` (``beta = 0``: the
normalised rule above, bit for bit). ``schedule='layered'`` (row-layered BP, Hocevar 2004; for 5G NR codes the
layers are the base graph's rows of ``Z`` checks, :mod:`neuralcodes_jax.codes.ldpc5g`) keeps posteriors and
check-to-variable messages and updates one layer of variable-disjoint checks at a time: ``m_{v->c} = L_v - m_{c->v}``
(clipped), new ``m_{c->v}``, ``L_v = m_{v->c} + m_{c->v}``; each layer reads the posteriors the previous one wrote,
so it converges in about half the iterations of flooding. The decision and syndrome test follow each full sweep.
Layers are padded to one size and run in a ``fori_loop`` over a message array holding both kinds (gathers in,
scatters out; check messages in layer-major slices written by ``dynamic_update_slice`` were 2-5x slower on
XLA:CPU); its min-sum takes the smallest and second-smallest magnitude over the stacked slots (the same values as
the leave-one-out scans). An iteration costs about as much as a flooding one on the (128, 64) 5G code and up to
~2x more on larger ones (n = 2048), against about half as many iterations.

Sum-product numerics: float32 ``tanh(|m| / 2)`` rounds to 1 beyond ``|m| ~ 17`` (against the float64 C++ decoder this
changed some hard words), so the update uses ``u = 1 - tanh(|m| / 2) = 2 / (e^|m| + 1)``: leave-one-out
``1 - w = prod (1 - u)`` by prefix/suffix combinations ``w = b + a (1 - b)`` (no division, no cancellation for small
``u``, exact for zero messages such as BEC erasures, ``u = 1``), magnitude ``log(2 / w - 1)`` clipped to
``llr_clip`` (``w = 0`` gives ``+inf``; no NaN), sign the parity of the negative inputs. The log-domain ``phi`` rule
is as accurate but 3x slower on XLA:CPU.

Layout (XLA:CPU): batch on the minor axis; messages ``[d_c m, W]`` with slot-major edges (``e = j m + c`` is the
``j``-th one of check ``c``), so check updates scan ``d_c`` contiguous ``[m, W]`` slices and the two gathers per
iteration move whole rows (no scatter-add). Words go in cache-sized tiles of at most ``tile``; a tile stops once at
most ``1/compaction`` of its words are active, and those are pooled across tiles and decoded on in smaller tiles, so
work follows each word's own iteration count. Outputs do not depend on the tiling.

Dense checks (flooding): above :data:`STACKED_ABOVE_DEGREE` (a check or variable degree; the polar codes' matrices of
the learned-decoder benchmark have check degrees 64-128) the check update works on the stacked slots ``[d_c, m, W]``
with prefix/suffix ``associative_scan`` over the slot axis (sum-product) or the two smallest magnitudes (min-sum),
and the variable sums are one gather ``[n, d_v, W]``: the per-slot kernel unrolls ``d_c`` steps and compiled for
minutes and past 7 GB of memory at ``d_c = 128``; the stacked one compiles in seconds. Same rule, values equal up to
float rounding. One iteration (:func:`flooding_iteration`) serves plain BP and weighted ("neural") BP
(:class:`BpWeights`; ``methods/neural_bp.py`` trains through it), so neural BP's inference has the same early exit
and compaction; each word takes the weights of its own iteration.

Against the C++ ``ldpc.BpDecoder`` (``tests/test_codes_ldpc.py``; float64, no clipping, and in
``input_vector_type='received_vector'`` mode it decodes the error pattern from the syndrome, "error" iff posterior
``<= 0``; here float32 on codeword LLRs): n = 1008, BSC(0.05) and BSC(0.07), 3000 words each, convergence flags,
decisions and iteration counts matched on all but at most one word per setting (rounding at the edge of
convergence); non-converged words may end on other bits.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import numbers
import os
import warnings
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import scipy.sparse

from neuralcodes_jax import channels
from neuralcodes_jax.codes import gf2
from neuralcodes_jax.config_utils import check_int as _check_int

__all__ = [
    "gallager_regular",
    "peg_regular",
    "LdpcCode",
    "TannerGraph",
    "count_4cycles",
    "read_alist",
    "write_alist",
    "channel_llr",
    "bp_decode",
    "BpResult",
    "BpWeights",
    "ALGORITHMS",
    "SCHEDULES",
    "CHANNELS",
    "DEFAULT_LLR_CLIP",
    "DEFAULT_MIN_SUM_ALPHA",
    "STACKED_ABOVE_DEGREE",
]

ALGORITHMS = ("sum_product", "min_sum")
"""Check-node updates of :func:`bp_decode`."""

SCHEDULES = ("flooding", "layered")
"""Message-passing schedules of :func:`bp_decode`."""

CHANNELS = ("bsc", "bec", "awgn")
"""Channels of :func:`channel_llr`."""

DEFAULT_LLR_CLIP = 40.0
"""Default bound on channel LLR and message magnitudes: rarely binding (20, Sionna's ``llr_max``, delayed convergence
by one iteration on ~0.2% of the words at n = 1008), and ``e^-40`` is still a normal float32."""

DEFAULT_MIN_SUM_ALPHA = 0.75
"""Default normalisation of min-sum. Plain min-sum (1.0) breaks down on the BSC (coding-anchors sec. 0)."""

STACKED_ABOVE_DEGREE = 32
"""Flooding BP on a graph with a check or variable degree above this uses the stacked layout (module docstring):
the per-slot kernel unrolls ``d_c`` prefix/suffix steps and ``d_v`` gathers, which for the polar codes' matrices
(check degrees 64-128) compiled for minutes and past 7 GB of memory."""

_EXACT = jax.lax.Precision.HIGHEST


# ------------------------------------------------------------------------------------------------ validation
def _check_real(name: str, value: Any, lo: float, hi: float, lo_open: bool, hi_open: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, np.generic)):
        raise ValueError(f"{name} must be a real number, got {value!r}")
    out = float(value)
    ok = (out > lo if lo_open else out >= lo) and (out < hi if hi_open else out <= hi)
    if not ok or math.isnan(out):
        interval = f"{'(' if lo_open else '['}{lo:g}, {hi:g}{')' if hi_open else ']'}"
        raise ValueError(f"{name} must be in {interval}, got {value!r}")
    return out


# ----------------------------------------------------------------------------------- regular constructions
def _col_rows_to_matrix(col_rows: np.ndarray, m: int) -> np.ndarray:
    n = col_rows.shape[0]
    h = np.zeros((m, n), dtype=np.uint8)
    h[col_rows, np.arange(n)[:, None]] = 1
    return h


def _overlap(h: np.ndarray) -> scipy.sparse.csr_matrix:
    """Sparse ``H^T H`` (column overlaps) with the diagonal removed."""
    hs = scipy.sparse.csc_matrix(h.astype(np.int32))
    o = (hs.T @ hs).tocsr()
    o.setdiag(0)
    o.eliminate_zeros()
    return o


def count_4cycles(parity_check: Any) -> int:
    """Number of 4-cycles of the Tanner graph of ``H``: ``sum_{i<j} C(o_ij, 2)``, ``o = H^T H`` off the diagonal."""
    h = gf2.as_binary_matrix(parity_check, "parity_check")
    o = _overlap(h)
    v = o.data.astype(np.int64)
    return int((v * (v - 1) // 2).sum() // 2)


def _cycles_through(h: np.ndarray, col: int) -> np.ndarray:
    """Overlaps of column ``col`` with every column (``0`` at ``col`` itself)."""
    rows = np.flatnonzero(h[:, col])
    o = h[rows].sum(axis=0, dtype=np.int64)
    o[col] = 0
    return o


def _local_cycles(h: np.ndarray, a: int, b: int) -> int:
    oa = _cycles_through(h, a)
    ob = _cycles_through(h, b)
    return int((oa * (oa - 1) // 2).sum() + (ob * (ob - 1) // 2).sum() - oa[b] * (oa[b] - 1) // 2)


def gallager_regular(
    n: int, d_v: int, d_c: int, *, seed: int, remove_4cycles: bool = True, max_tries: int = 20000
) -> np.ndarray:
    """Regular ``(d_v, d_c)`` parity-check matrix by Gallager's construction (module docstring).

    Block length ``n`` a multiple of the row weight ``d_c >= 2``; column weight ``1 <= d_v < d_c``; ``seed`` seeds
    NumPy (the result is a function of the arguments). ``remove_4cycles`` breaks 4-cycles by column swaps inside a band
    (bands 2..d_v), kept only if they lower the 4-cycles through the two columns (weights unchanged), for at most
    ``max_tries`` swaps; a RuntimeWarning gives the count of 4-cycles left. Returns ``uint8 [n d_v / d_c, n]``, rows
    ``b n/d_c ... (b+1) n/d_c - 1`` being band ``b``.
    """
    d_c = _check_int("d_c", d_c, 2)
    d_v = _check_int("d_v", d_v, 1, d_c - 1)
    n = _check_int("n", n, d_c)
    if n % d_c:
        raise ValueError(f"n must be a multiple of d_c={d_c}, got n={n}")
    max_tries = _check_int("max_tries", max_tries, 0)
    seed = _check_int("seed", seed, 0)
    rng = np.random.default_rng(seed)
    rows_per_band = n // d_c
    m = rows_per_band * d_v
    first = np.arange(n) // d_c
    col_rows = np.stack(
        [b * rows_per_band + (first if b == 0 else first[rng.permutation(n)]) for b in range(d_v)], axis=1
    )
    h = _col_rows_to_matrix(col_rows, m)
    if not remove_4cycles or d_v < 2:
        return h
    tries = 0
    while tries < max_tries:
        o = _overlap(h)
        coo = o.tocoo()
        bad = (coo.data >= 2) & (coo.row < coo.col)
        if not bad.any():
            return h
        pairs = np.stack([coo.row[bad], coo.col[bad]], axis=1)
        improved = False
        # One sweep over the current cycles; recount after any accepted swap.
        for i, j in pairs[rng.permutation(len(pairs))]:
            if tries >= max_tries:
                break
            a, other = (i, j) if rng.random() < 0.5 else (j, i)
            # Two shared rows lie in two different bands, so at least one shared band is a permuted one.
            shared = [b for b in range(1, d_v) if col_rows[a, b] == col_rows[other, b]]
            band = shared[rng.integers(len(shared))]
            tries += 1
            c = int(rng.integers(n))
            if col_rows[c, band] == col_rows[a, band]:
                continue
            before = _local_cycles(h, a, c)
            ra, rc = col_rows[a, band], col_rows[c, band]
            h[ra, a], h[rc, c], h[rc, a], h[ra, c] = 0, 0, 1, 1
            if _local_cycles(h, a, c) < before:
                col_rows[a, band], col_rows[c, band] = rc, ra
                improved = True
                break
            h[ra, a], h[rc, c], h[rc, a], h[ra, c] = 1, 1, 0, 0
        if not improved and tries >= max_tries:
            break
    remaining = count_4cycles(h)
    if remaining:
        warnings.warn(
            f"gallager_regular(n={n}, d_v={d_v}, d_c={d_c}, seed={seed}): {remaining} 4-cycles remain "
            f"after max_tries={max_tries} column swaps",
            RuntimeWarning,
            stacklevel=2,
        )
    return h


def peg_regular(n: int, d_v: int, d_c: int, *, seed: int) -> np.ndarray:
    """A regular ``(d_v, d_c)`` parity-check matrix by progressive edge growth (Hu, Eleftheriou, Arnold 2005).

    ``m = n d_v / d_c`` checks (``n d_v`` must be a multiple of ``d_c``; n need not be). Each new edge of a variable
    goes to a check not yet reachable from it, else to one at the largest distance, among checks with fewer than
    ``d_c`` edges, lowest degree first, ties broken at random by ``seed``. Raises ValueError on bad degrees.
    """
    for name, v, lo in (("n", n, 2), ("d_v", d_v, 1), ("d_c", d_c, 2)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
            raise ValueError(f"{name} must be an int >= {lo}, got {v!r}")
    if d_v >= d_c or (n * d_v) % d_c or d_c > n:
        raise ValueError(f"need d_v < d_c <= n and n*d_v a multiple of d_c, got n={n}, d_v={d_v}, d_c={d_c}")
    m = n * d_v // d_c
    rng = np.random.default_rng(int(seed))
    var_checks: list[list[int]] = [[] for _ in range(n)]
    check_vars: list[list[int]] = [[] for _ in range(m)]
    degree = np.zeros(m, np.int64)
    for v in range(n):
        for _ in range(d_v):
            open_ = degree < d_c
            open_[var_checks[v]] = False
            # Breadth-first search from v: depth of every reachable check.
            depth = np.full(m, -1, np.int64)
            frontier = list(var_checks[v])
            depth[frontier] = 0
            seen_vars = {v}
            d = 0
            last_layer = list(frontier)
            while frontier:
                d += 1
                nxt = []
                for c in frontier:
                    for u in check_vars[c]:
                        if u in seen_vars:
                            continue
                        seen_vars.add(u)
                        for c2 in var_checks[u]:
                            if depth[c2] < 0:
                                depth[c2] = d
                                nxt.append(c2)
                if nxt:
                    last_layer = nxt
                frontier = nxt
            candidates = np.flatnonzero(open_ & (depth < 0))
            if candidates.size == 0:
                layer = np.zeros(m, bool)
                layer[last_layer] = True
                candidates = np.flatnonzero(open_ & layer)
            if candidates.size == 0:
                reach = depth[open_]
                candidates = np.flatnonzero(open_ & (depth == reach.max()))
            low = candidates[degree[candidates] == degree[candidates].min()]
            c = int(low[rng.integers(low.size)])
            var_checks[v].append(c)
            check_vars[c].append(v)
            degree[c] += 1
    h = np.zeros((m, n), np.uint8)
    for v, cs in enumerate(var_checks):
        h[cs, v] = 1
    return h


# ----------------------------------------------------------------------------------------------- the code
@dataclasses.dataclass(frozen=True, eq=False)
class TannerGraph:
    """Padded index tables of the Tanner graph of ``H [m, n]`` used by :func:`bp_decode`.

    Edges are numbered slot-major: edge ``e = j * m + c`` is the ``j``-th one of row ``c`` (``j`` is its check slot).

    Attributes:
      n, m: numbers of variables (columns) and checks (rows).
      num_edges: number of ones of ``H``.
      check_vars: ``int32 [m, max_check_degree]`` variable of each check slot (0 in padded slots).
      check_mask: ``bool [m, max_check_degree]``, True on real edges.
      var_edges: ``int32 [n, max_var_degree]`` edge numbers of each variable (0 in padded slots).
      var_mask: ``bool [n, max_var_degree]``, True on real edges.
    """

    n: int
    m: int
    num_edges: int
    check_vars: np.ndarray
    check_mask: np.ndarray
    var_edges: np.ndarray
    var_mask: np.ndarray

    @classmethod
    def from_parity_check(cls, parity_check: Any) -> TannerGraph:
        h = gf2.as_binary_matrix(parity_check, "parity_check")
        m, n = h.shape
        rows, cols = np.nonzero(h)  # row-major order
        return cls.from_edges(rows, cols, m, n)

    @classmethod
    def from_edges(cls, rows: Any, cols: Any, m: int, n: int) -> TannerGraph:
        """Graph of the ``m x n`` matrix with ones at ``(rows[i], cols[i])`` (distinct pairs; no dense ``H`` is built,
        so lifted codes of any size fit). ``from_edges(*np.nonzero(h), *h.shape)`` equals ``from_parity_check(h)``."""
        m = _check_int("m", m, 1)
        n = _check_int("n", n, 1)
        rows = np.asarray(rows, np.int64).reshape(-1)
        cols = np.asarray(cols, np.int64).reshape(-1)
        if rows.shape != cols.shape:
            raise ValueError(f"rows and cols must have the same length, got {rows.size} and {cols.size}")
        if rows.size == 0:
            raise ValueError("parity_check must have at least one nonzero entry")
        if rows.min() < 0 or rows.max() >= m or cols.min() < 0 or cols.max() >= n:
            raise ValueError(f"rows must be in [0, {m}) and cols in [0, {n})")
        order = np.lexsort((cols, rows))
        rows, cols = rows[order], cols[order]
        if np.any((np.diff(rows) == 0) & (np.diff(cols) == 0)):
            raise ValueError("rows and cols must not repeat an entry")
        row_deg = np.bincount(rows, minlength=m).astype(np.int64)
        col_deg = np.bincount(cols, minlength=n).astype(np.int64)
        dc, dv = int(row_deg.max()), int(max(col_deg.max(), 1))
        check_vars = np.zeros((m, dc), dtype=np.int32)
        check_mask = np.zeros((m, dc), dtype=bool)
        slot = np.arange(rows.size) - np.concatenate([[0], np.cumsum(row_deg)])[rows]
        check_vars[rows, slot] = cols
        check_mask[rows, slot] = True
        edge = slot * m + rows
        order = np.argsort(cols, kind="stable")
        var_slot = np.arange(cols.size) - np.concatenate([[0], np.cumsum(col_deg)])[cols[order]]
        var_edges = np.zeros((n, dv), dtype=np.int32)
        var_mask = np.zeros((n, dv), dtype=bool)
        var_edges[cols[order], var_slot] = edge[order]
        var_mask[cols[order], var_slot] = True
        for a in (check_vars, check_mask, var_edges, var_mask):
            a.setflags(write=False)
        return cls(n, m, int(rows.size), check_vars, check_mask, var_edges, var_mask)

    @property
    def max_check_degree(self) -> int:
        return int(self.check_vars.shape[1])

    @property
    def max_var_degree(self) -> int:
        return int(self.var_edges.shape[1])

    @property
    def device_tables(self) -> tuple[jax.Array, jax.Array, jax.Array, jax.Array]:
        """``(check_vars, check_mask, var_edges, var_mask)`` as JAX arrays, transferred once. Inside a trace (a
        decoder called under ``jax.jit``) they are the trace's constants and are not kept: a cached tracer would
        leak into the next trace."""
        cached = self.__dict__.get("_device_tables")
        if cached is not None:
            return cached
        with jax.ensure_compile_time_eval():
            tables = tuple(jnp.asarray(a) for a in (self.check_vars, self.check_mask, self.var_edges, self.var_mask))
        if not any(isinstance(t, jax.core.Tracer) for t in tables):
            self.__dict__["_device_tables"] = tables
        return tables

    @functools.cached_property
    def default_layers(self) -> tuple[np.ndarray, ...]:
        """Checks in layers for ``schedule='layered'`` when none are given: greedily, each check (in order) joins the
        first layer none of whose checks shares a variable with it (so a layer's checks can be updated at once)."""
        layers: list[list[int]] = []
        used: list[set[int]] = []
        for c in range(self.m):
            vs = set(self.check_vars[c, self.check_mask[c]].tolist())
            for members, seen in zip(layers, used):
                if not seen & vs:
                    members.append(c)
                    seen |= vs
                    break
            else:
                layers.append([c])
                used.append(vs)
        out = tuple(np.array(x, np.int32) for x in layers)
        for a in out:
            a.setflags(write=False)
        return out

    def layer_tables(self, layers: Any = None) -> tuple[jax.Array, jax.Array, jax.Array]:
        """Device tables of a row-layered schedule: ``(var_rows, edge_rows, mask)``, each ``[L, R, max_check_degree]``
        (``L`` layers padded to ``R`` checks). Rows index the layered decoder's message array: edge ``e`` (slot-major
        numbering) is row ``e``, the dummy edge row ``d_c m``, variable ``v`` row ``d_c m + 1 + v``, the dummy variable
        row ``d_c m + 1 + n``; padded slots point to the dummies.

        ``layers``: a sequence of 1-D sequences of check indices, a partition of ``range(m)`` in which no two checks of
        one layer share a variable; None for :attr:`default_layers`. ValueError otherwise (naming ``layers``).
        """
        if layers is None:
            key: Any = None
            layers = self.default_layers
        else:
            layers = _check_layers(self, layers)
            key = tuple(tuple(a.tolist()) for a in layers)
        cache = self.__dict__.setdefault("_layer_cache", {})
        if key in cache:
            return cache[key]
        m, dc, n = self.m, self.max_check_degree, self.n
        size = max(a.size for a in layers)
        dummy_edge, var0 = dc * m, dc * m + 1
        var_rows = np.full((len(layers), size, dc), var0 + n, np.int32)
        edge_rows = np.full((len(layers), size, dc), dummy_edge, np.int32)
        mask = np.zeros((len(layers), size, dc), bool)
        slots = np.arange(dc)[None, :]
        for i, a in enumerate(layers):
            mk = self.check_mask[a]
            var_rows[i, : a.size] = np.where(mk, var0 + self.check_vars[a], var0 + n)
            edge_rows[i, : a.size] = np.where(mk, slots * m + a[:, None], dummy_edge)
            mask[i, : a.size] = mk
        with jax.ensure_compile_time_eval():  # concrete arrays even inside a trace: safe to keep
            out = (jnp.asarray(var_rows), jnp.asarray(edge_rows), jnp.asarray(mask))
        if len(cache) < 8 and not any(isinstance(t, jax.core.Tracer) for t in out):
            cache[key] = out
        return out

    @property
    def check_regular(self) -> bool:
        return bool(self.check_mask.all())

    @property
    def var_regular(self) -> bool:
        return bool(self.var_mask.all())

    def __repr__(self) -> str:
        return (
            f"TannerGraph(n={self.n}, m={self.m}, edges={self.num_edges}, "
            f"max degrees var={self.max_var_degree} check={self.max_check_degree})"
        )


def _check_layers(graph: TannerGraph, layers: Any) -> tuple[np.ndarray, ...]:
    """``layers`` as int32 arrays after checking they partition the checks into variable-disjoint layers."""
    try:
        out = tuple(np.asarray(a).reshape(-1) for a in layers)
    except TypeError:
        raise ValueError(
            f"layers must be a sequence of sequences of check indices, got {type(layers).__name__}"
        ) from None
    if not out or any(a.size == 0 for a in out):
        raise ValueError("layers must be a non-empty sequence of non-empty layers")
    if any(a.dtype.kind not in "iu" for a in out):
        raise ValueError("layers must hold integer check indices")
    flat = np.concatenate(out).astype(np.int64)
    if flat.size != graph.m or not np.array_equal(np.sort(flat), np.arange(graph.m)):
        raise ValueError(f"layers must partition the m={graph.m} checks (each check in exactly one layer)")
    for i, a in enumerate(out):
        vs = graph.check_vars[a][graph.check_mask[a]]
        if np.unique(vs).size != vs.size:
            raise ValueError(f"layers[{i}] has two checks sharing a variable; a layer's checks must be disjoint")
    return tuple(a.astype(np.int32) for a in out)


def _gf2_encode(messages: Any, generator: np.ndarray) -> Any:
    """``messages @ G mod 2`` through a float32 product: exact, every partial sum is an integer <= k < 2^24."""
    if isinstance(messages, jax.Array):
        out = jnp.matmul(messages.astype(jnp.float32), jnp.asarray(generator, jnp.float32), precision=_EXACT)
        return jnp.mod(out, 2.0).astype(jnp.uint8)
    out = np.matmul(messages.astype(np.float32), generator.astype(np.float32))
    return np.mod(out, 2.0).astype(np.uint8)


@dataclasses.dataclass(frozen=True, eq=False)
class LdpcCode:
    """The binary linear code ``{c : H c = 0}`` of a (sparse) parity-check matrix ``H``, kept as given for BP.

    ``parity_check`` (``uint8 [m, n]``, read-only) may have dependent rows: ``k = n - rank``. The generator is
    systematic on :attr:`information_positions` (non-pivot columns of ``H``'s RREF): message bit ``i`` is codeword
    bit ``information_positions[i]``. ``name``: label for reports.
    """

    parity_check: np.ndarray
    name: str = ""

    def __post_init__(self) -> None:
        h = gf2.as_binary_matrix(self.parity_check, "parity_check")
        if not h.any():
            raise ValueError("parity_check must have at least one nonzero entry")
        h = h.copy()
        h.setflags(write=False)
        object.__setattr__(self, "parity_check", h)
        _, pivots = gf2.row_reduce(h, "parity_check")
        if len(pivots) == h.shape[1]:
            raise ValueError(f"parity_check has rank n={h.shape[1]}, so k=0; the code must have k >= 1")
        pivot_set = set(pivots)
        info = np.array([c for c in range(h.shape[1]) if c not in pivot_set], dtype=np.int64)
        g = gf2.null_space(h, "parity_check")
        info.setflags(write=False)
        g.setflags(write=False)
        object.__setattr__(self, "_rank", len(pivots))
        object.__setattr__(self, "_info", info)
        object.__setattr__(self, "_generator", g)

    @classmethod
    def gallager(
        cls, n: int, d_v: int, d_c: int, *, seed: int, remove_4cycles: bool = True, max_tries: int = 20000
    ) -> LdpcCode:
        """:func:`gallager_regular` as a code, named ``"Gallager(d_v,d_c) n=..., seed=..."``."""
        h = gallager_regular(n, d_v, d_c, seed=seed, remove_4cycles=remove_4cycles, max_tries=max_tries)
        return cls(h, f"Gallager({d_v},{d_c}) n={n} seed={seed}")

    @classmethod
    def from_alist(cls, path_or_text: Any, name: str = "") -> LdpcCode:
        """Code of an alist file or text (:func:`read_alist`)."""
        return cls(read_alist(path_or_text), name)

    # ------------------------------------------------------------------------------------------ properties
    @property
    def n(self) -> int:
        return int(self.parity_check.shape[1])

    @property
    def m(self) -> int:
        """Number of rows of ``H`` (checks), dependent rows included."""
        return int(self.parity_check.shape[0])

    @property
    def rank(self) -> int:
        """GF(2) rank of ``H``."""
        return int(self._rank)  # type: ignore[attr-defined]

    @property
    def k(self) -> int:
        return self.n - self.rank

    @property
    def rate(self) -> float:
        """True rate ``k / n``."""
        return self.k / self.n

    @property
    def design_rate(self) -> float:
        """``1 - m / n`` (below the true rate when ``H`` has dependent rows)."""
        return 1.0 - self.m / self.n

    @property
    def generator(self) -> np.ndarray:
        """``uint8 [k, n]``, ``G H^T = 0``, ``G[:, information_positions] = I_k``."""
        return self._generator  # type: ignore[attr-defined]

    @property
    def information_positions(self) -> np.ndarray:
        """``int64 [k]``: codeword position of each message bit."""
        return self._info  # type: ignore[attr-defined]

    @property
    def column_weights(self) -> np.ndarray:
        return self.parity_check.sum(axis=0).astype(np.int64)

    @property
    def row_weights(self) -> np.ndarray:
        return self.parity_check.sum(axis=1).astype(np.int64)

    @functools.cached_property
    def graph(self) -> TannerGraph:
        """Tanner graph tables for :func:`bp_decode`."""
        return TannerGraph.from_parity_check(self.parity_check)

    # ------------------------------------------------------------------------------------------ operations
    def encode(self, messages: Any) -> Any:
        """``messages [..., k]`` (0/1) -> codewords ``[..., n]`` (``uint8``); NumPy or JAX (jit-safe) in and out."""
        if not isinstance(messages, jax.Array):
            messages = gf2.as_bits(messages, "messages")
        if messages.shape[-1] != self.k:
            raise ValueError(f"messages must have k={self.k} bits in the last axis, got shape {messages.shape}")
        return _gf2_encode(messages, self.generator)

    def unencode(self, codewords: Any) -> Any:
        """Messages ``[..., k]`` read off the information positions of codewords ``[..., n]``."""
        if not isinstance(codewords, jax.Array):
            codewords = np.asarray(codewords)
        if codewords.shape[-1] != self.n:
            raise ValueError(f"codewords must have n={self.n} bits in the last axis, got shape {codewords.shape}")
        return codewords[..., self.information_positions]

    def syndrome(self, words: Any) -> Any:
        """``words H^T`` ``[..., m]`` (``uint8``); NumPy or JAX."""
        if not isinstance(words, jax.Array):
            words = gf2.as_bits(words, "words")
        if words.shape[-1] != self.n:
            raise ValueError(f"words must have n={self.n} bits in the last axis, got shape {words.shape}")
        return _gf2_encode(words, self.parity_check.T)

    def num_4cycles(self) -> int:
        """Number of 4-cycles of the Tanner graph (:func:`count_4cycles`)."""
        return count_4cycles(self.parity_check)

    def girth(self, max_girth: int = 12) -> int | None:
        """Length of the shortest cycle of the Tanner graph, or None if there is none of length ``<= max_girth``.

        Breadth-first search from every variable node; a non-tree edge ``(u, w)`` closes a cycle of length
        ``depth(u) + depth(w) + 1``. Pure Python: about a second for ``n = 1000``.
        """
        max_girth = _check_int("max_girth", max_girth, 4)
        n = self.n
        adj = [list(np.flatnonzero(self.parity_check[:, v]) + n) for v in range(n)]
        adj += [list(np.flatnonzero(self.parity_check[c])) for c in range(self.m)]
        best = max_girth + 1
        for src in range(n):
            depth = {src: 0}
            parent = {src: -1}
            frontier = [src]
            d = 0
            while frontier:
                d += 1
                if 2 * d - 1 >= best:
                    break
                nxt = []
                for u in frontier:
                    for w in adj[u]:
                        w = int(w)
                        if w == parent[u]:
                            continue
                        if w in depth:
                            best = min(best, depth[u] + depth[w] + 1)
                            continue
                        depth[w] = d
                        parent[w] = u
                        nxt.append(w)
                frontier = nxt
            if best == 4:
                break
        return best if best <= max_girth else None

    def __repr__(self) -> str:
        label = f"{self.name!r}, " if self.name else ""
        return f"LdpcCode({label}n={self.n}, m={self.m}, rank={self.rank}, k={self.k})"


# --------------------------------------------------------------------------------------------------- alist
def read_alist(path_or_text: Any) -> np.ndarray:
    """Parity-check matrix ``uint8 [m, n]`` from MacKay's alist format.

    Format (whitespace separated, 1-based indices)::

        n m
        max_column_weight max_row_weight
        column weights (n numbers)
        row weights (m numbers)
        n lines: the row indices of each column's ones (padded with 0 to max_column_weight)
        m lines: the column indices of each row's ones (padded with 0 to max_row_weight)

    Zero padding is optional. Both halves must describe the same matrix; ValueError on malformed content.
    ``path_or_text``: a path (``str`` without a newline or ``os.PathLike``) or the file's text.
    """
    if isinstance(path_or_text, os.PathLike) or (isinstance(path_or_text, str) and "\n" not in path_or_text):
        with open(path_or_text, encoding="ascii") as fh:
            text = fh.read()
    elif isinstance(path_or_text, str):
        text = path_or_text
    else:
        raise ValueError(f"path_or_text must be a path or the alist text, got {type(path_or_text).__name__}")
    try:
        tokens = [int(t) for t in text.split()]
    except ValueError as err:
        raise ValueError(f"alist must hold integers only: {err}") from None
    pos = 0

    def take(count: int, what: str) -> list[int]:
        nonlocal pos
        if pos + count > len(tokens):
            raise ValueError(f"alist ends early while reading {what}")
        out = tokens[pos : pos + count]
        pos += count
        return out

    n, m = take(2, "n m")
    if n < 1 or m < 1:
        raise ValueError(f"alist must have n >= 1 and m >= 1, got n={n}, m={m}")
    max_cw, max_rw = take(2, "the maximum weights")
    col_w = take(n, "the column weights")
    row_w = take(m, "the row weights")
    if max(col_w) != max_cw or max(row_w) != max_rw or min(col_w + row_w) < 0:
        raise ValueError(f"alist maximum weights {max_cw}, {max_rw} disagree with the listed weights")

    def entries(weights: list[int], limit: int, what: str) -> list[list[int]]:
        nonlocal pos
        lists = []
        for i, w in enumerate(weights):
            while pos < len(tokens) and tokens[pos] == 0 and w > 0:
                pos += 1
            idx = take(w, f"{what} {i + 1}")
            if any(not 1 <= v <= limit for v in idx):
                raise ValueError(f"alist {what} {i + 1} has an index outside [1, {limit}]: {idx}")
            lists.append(idx)
            while pos < len(tokens) and tokens[pos] == 0:
                pos += 1
        return lists

    cols = entries(col_w, m, "column")
    rows = entries(row_w, n, "row")
    if pos != len(tokens):
        raise ValueError(f"alist has {len(tokens) - pos} unexpected trailing numbers")
    h = np.zeros((m, n), dtype=np.uint8)
    for j, idx in enumerate(cols):
        if len(set(idx)) != len(idx):
            raise ValueError(f"alist column {j + 1} repeats a row index: {idx}")
        h[np.array(idx, dtype=np.int64) - 1, j] = 1
    h_rows = np.zeros((m, n), dtype=np.uint8)
    for i, idx in enumerate(rows):
        h_rows[i, np.array(idx, dtype=np.int64) - 1] = 1
    if not np.array_equal(h, h_rows):
        raise ValueError("alist column lists and row lists describe different matrices")
    return h


def write_alist(parity_check: Any, path: Any = None) -> str:
    """MacKay alist text of ``H`` (zero-padded lists, see :func:`read_alist`); also written to ``path`` if given."""
    h = gf2.as_binary_matrix(parity_check, "parity_check")
    m, n = h.shape
    col_w = h.sum(axis=0).astype(int)
    row_w = h.sum(axis=1).astype(int)
    max_cw, max_rw = int(col_w.max()), int(row_w.max())
    lines = [f"{n} {m}", f"{max_cw} {max_rw}", " ".join(map(str, col_w)), " ".join(map(str, row_w))]
    for j in range(n):
        idx = list(np.flatnonzero(h[:, j]) + 1) + [0] * (max_cw - int(col_w[j]))
        lines.append(" ".join(map(str, idx)))
    for i in range(m):
        idx = list(np.flatnonzero(h[i]) + 1) + [0] * (max_rw - int(row_w[i]))
        lines.append(" ".join(map(str, idx)))
    text = "\n".join(lines) + "\n"
    if path is not None:
        with open(path, "w", encoding="ascii") as fh:
            fh.write(text)
    return text


# ------------------------------------------------------------------------------------------- channel LLRs
def channel_llr(
    channel: str, y: Any, param: Any = None, *, erasures: Any = None, known_llr: float = DEFAULT_LLR_CLIP
) -> Any:
    """Channel LLRs ``L = log P(x=0|y) / P(x=1|y)`` (positive means 0) for :func:`bp_decode`.

    Args:
      channel: ``'bsc'``: ``y`` bits, ``param`` = crossover ``p`` in (0, 0.5); ``L = (1 - 2y) log((1-p)/p)``.
        ``'bec'``: ``y`` symbols in {0, 1, 2} with 2 = erasure (:data:`channels.ERASURE`), or bits with a boolean
        ``erasures`` mask; ``param`` = erasure probability in [0, 1), optional and only validated;
        ``L = +-known_llr`` for received bits (``+`` for 0) and 0 for erasures.
        ``'awgn'``: ``y`` real, BPSK ``0 -> +1, 1 -> -1``, ``param`` = noise std ``sigma > 0``; ``L = 2y/sigma^2``.
      y: channel output, any shape (``[B, n]`` for the decoder). NumPy in NumPy out, JAX in JAX out (float32).
      param: the channel parameter above (a Python number, validated).
      erasures: BEC only, optional boolean mask of erased positions (shape of ``y``).
      known_llr: BEC only, the magnitude given to received bits (> 0; the decoder clips at its ``llr_clip``).

    Raises ValueError for an unknown channel, an out-of-range parameter, or BEC symbols outside {0, 1, 2}.
    """
    if channel not in CHANNELS:
        raise ValueError(f"channel must be one of {CHANNELS}, got {channel!r}")
    xp = jnp if isinstance(y, jax.Array) else np
    y = xp.asarray(y)
    if channel == "bsc":
        if param is None:
            raise ValueError("param (the BSC crossover probability p) must be given, in (0, 0.5)")
        p = _check_real("p", param, 0.0, 0.5, True, True)
        if xp is np:
            gf2.as_bits(y, "y")
        mag = math.log1p(-p) - math.log(p)
        return ((1.0 - 2.0 * y.astype(xp.float32)) * xp.float32(mag)).astype(xp.float32)
    if channel == "bec":
        if param is not None:
            _check_real("param (the BEC erasure probability)", param, 0.0, 1.0, False, True)
        known = _check_real("known_llr", known_llr, 0.0, math.inf, True, True)
        if erasures is None:
            if xp is np and np.any((y != 0) & (y != 1) & (y != channels.ERASURE)):
                raise ValueError(f"y must hold BEC symbols in {{0, 1, {channels.ERASURE}}}")
            erased = y == channels.ERASURE
        else:
            erased = xp.asarray(erasures).astype(bool)
            if erased.shape != y.shape:
                raise ValueError(f"erasures must have the shape of y {y.shape}, got {erased.shape}")
            if xp is np:
                gf2.as_bits(np.where(erased, 0, y), "y")
        sign = 1.0 - 2.0 * (y == 1).astype(xp.float32)
        return xp.where(erased, xp.float32(0.0), sign * xp.float32(known)).astype(xp.float32)
    if param is None:
        raise ValueError("param (the AWGN noise standard deviation sigma) must be given, > 0")
    sigma = _check_real("sigma", param, 0.0, math.inf, True, True)
    return (y.astype(xp.float32) * xp.float32(2.0 / sigma**2)).astype(xp.float32)


# ------------------------------------------------------------------------------------------------ decoder
class BpResult(NamedTuple):
    """Output of :func:`bp_decode` for a batch of ``B`` words.

    Attributes:
      bits: ``uint8 [B, n]`` hard decisions (``L < 0 -> 1``), frozen at convergence; the last iteration's
        decisions for words that did not converge.
      converged: ``bool [B]``, the decision has a zero syndrome (it is a codeword; not necessarily the sent one).
      iterations: ``int32 [B]``, iterations run for each word (1 ... ``max_iters``), as ``ldpc.BpDecoder.iter``.
    """

    bits: jax.Array
    converged: jax.Array
    iterations: jax.Array


def _pow2_at_least(x: int) -> int:
    return 1 << (max(int(x), 1) - 1).bit_length()


def _excl(values: list[jax.Array], op: Any) -> list[jax.Array]:
    """Leave-one-out ``op``-reductions ``[op_{i != j} values_i for j]`` by prefix and suffix scans (``len >= 2``)."""
    d = len(values)
    pre: list[Any] = [None] * d
    suf: list[Any] = [None] * d
    pre[1] = values[0]
    for j in range(2, d):
        pre[j] = op(pre[j - 1], values[j - 1])
    suf[d - 2] = values[d - 1]
    for j in range(d - 3, -1, -1):
        suf[j] = op(suf[j + 1], values[j + 1])
    return [suf[0]] + [op(pre[j], suf[j]) for j in range(1, d - 1)] + [pre[d - 1]]


def _complement_product(a: jax.Array, b: jax.Array) -> jax.Array:
    """``1 - (1 - a)(1 - b)`` for ``a, b`` in ``[0, 1]``: exact at 1, no cancellation for small arguments."""
    return jnp.where(a >= 1.0, 1.0, b + a * (1.0 - b))


def _check_update(
    v2c: list[jax.Array],
    masks: list[jax.Array] | None,
    algorithm: str,
    alpha: jax.Array,
    clip: jax.Array,
    beta: jax.Array | float = 0.0,
) -> list[jax.Array]:
    """Check-to-variable messages, one ``[m, W]`` array per check slot, from the variable-to-check ones.

    Padded slots (irregular codes) enter as the neutral ``u = 0`` (sum-product) or ``|m| = inf`` (min-sum), sign +;
    their outputs are never read. Min-sum magnitudes are ``alpha max(min - beta, 0)`` (``beta = 0``: exactly the
    normalised rule).
    """
    if len(v2c) == 1:  # a check on one variable forces it to 0: empty product, 2 atanh(1) = +inf
        return [jnp.full_like(v2c[0], clip if algorithm == "sum_product" else alpha * jnp.maximum(clip - beta, 0.0))]
    neg = [v < 0 for v in v2c]
    if masks is not None:
        neg = [mk & x for mk, x in zip(masks, neg)]
    negs = _excl(neg, jnp.logical_xor)
    if algorithm == "sum_product":
        u = [2.0 / (jnp.exp(jnp.abs(v)) + 1.0) for v in v2c]  # 1 - tanh(|m| / 2)
        if masks is not None:
            u = [jnp.where(mk, x, 0.0) for mk, x in zip(masks, u)]
        w = _excl(u, _complement_product)
        return [jnp.where(s, -1.0, 1.0) * jnp.minimum(jnp.log(2.0 / x - 1.0), clip) for x, s in zip(w, negs)]
    mag = [jnp.abs(v) for v in v2c]
    if masks is not None:
        mag = [jnp.where(mk, x, jnp.inf) for mk, x in zip(masks, mag)]
    mins = _excl(mag, jnp.minimum)
    if masks is not None:  # a check of degree 1 has an empty minimum (+inf)
        mins = [jnp.minimum(x, clip) for x in mins]
    mins = [jnp.maximum(x - beta, 0.0) for x in mins]
    return [jnp.where(s, -alpha, alpha) * x for x, s in zip(mins, negs)]


def _min_sum_stacked(v2c: jax.Array, mask: jax.Array, alpha: jax.Array, beta: jax.Array, clip: jax.Array) -> jax.Array:
    """:func:`_check_update` for min-sum on stacked slots ``[d_c, R, W]`` (mask ``[d_c, R, 1]``), same values: the
    leave-one-out minimum is the smallest magnitude, or the second smallest at the slot holding the smallest."""
    mag = jnp.where(mask, jnp.abs(v2c), jnp.inf)
    neg = mask & (v2c < 0)
    slot = jnp.arange(v2c.shape[0], dtype=jnp.int32)[:, None, None]
    first = jnp.argmin(mag, axis=0)[None]
    min1 = jnp.min(mag, axis=0, keepdims=True)
    min2 = jnp.min(jnp.where(slot == first, jnp.inf, mag), axis=0, keepdims=True)
    loo = jnp.minimum(jnp.where(slot == first, min2, min1), clip)
    sign = jnp.logical_xor(jnp.sum(neg, axis=0, dtype=jnp.int32, keepdims=True) % 2 == 1, neg)
    return jnp.where(sign, -alpha, alpha) * jnp.maximum(loo - beta, 0.0)


def _sum_product_stacked(v2c: jax.Array, mask: jax.Array, clip: jax.Array) -> jax.Array:
    """:func:`_check_update` for sum-product on stacked slots ``[d_c, R, W]`` (mask ``[d_c, R, 1]``): ``u = 1 -
    tanh(|m| / 2)``, leave-one-out complement products from inclusive prefix and suffix scans over the slot axis
    (``log2 d_c`` depth, not ``d_c`` unrolled steps), magnitude ``min(log(2 / w - 1), clip)``, sign the parity of the
    other negative inputs. Same rule as the per-slot kernel; values equal up to float rounding (other association)."""
    u = jnp.where(mask, 2.0 / (jnp.exp(jnp.abs(v2c)) + 1.0), 0.0)
    neg = mask & (v2c < 0)
    pre = jax.lax.associative_scan(_complement_product, u, axis=0)
    suf = jax.lax.associative_scan(_complement_product, u, axis=0, reverse=True)
    zero = jnp.zeros_like(u[:1])
    w = _complement_product(jnp.concatenate([zero, pre[:-1]], axis=0), jnp.concatenate([suf[1:], zero], axis=0))
    sign = jnp.logical_xor(jnp.sum(neg, axis=0, dtype=jnp.int32, keepdims=True) % 2 == 1, neg)
    return jnp.where(sign, -1.0, 1.0) * jnp.minimum(jnp.log(2.0 / w - 1.0), clip)


def _check_update_stacked(
    v2c: jax.Array, mask: jax.Array, algorithm: str, alpha: jax.Array, clip: jax.Array, beta: jax.Array
) -> jax.Array:
    """Check-to-variable messages ``[d_c, R, W]`` of stacked variable-to-check ones (mask ``[d_c, R, 1]``)."""
    if algorithm == "min_sum":
        return _min_sum_stacked(v2c, mask, alpha, beta, clip)
    return _sum_product_stacked(v2c, mask, clip)


def use_stacked(graph: TannerGraph) -> bool:
    """Whether flooding BP on ``graph`` uses the stacked layout: a check or variable degree above
    :data:`STACKED_ABOVE_DEGREE`."""
    return max(graph.max_check_degree, graph.max_var_degree) > STACKED_ABOVE_DEGREE


class BpWeights(NamedTuple):
    """Multiplicative weights of weighted ("neural") BP (Nachmani et al. 2018, IEEE JSTSP, Sec. II-III), for
    :func:`bp_decode` (flooding). Each is ``None`` (no weight) or ``float32 [T, ...]``: row ``t`` is used by each
    word's iteration ``t + 1`` (its own count, so words pooled by compaction keep their own rows); ``T = 1`` shares
    one row by every iteration, else ``T`` must equal ``max_iters``.

    Attributes:
      edge: ``[T, d_c m]`` (slot-major edges, :class:`TannerGraph`): each ``m_{c->v}`` is multiplied by its weight
        where it enters the posterior and the next ``m_{v->c}``.
      offset: ``[T, d_c m]``: magnitude ``max(|m_{c->v}| - beta_e, 0)`` after the check update (neural offset
        min-sum; use with ``algorithm='min_sum', alpha=1``).
      llr: ``[T, n]``: the channel LLR enters the posterior as ``u_{t,v} L_v``.
    """

    edge: Any = None
    offset: Any = None
    llr: Any = None


def _materialize(x: Any, it: jax.Array) -> Any:
    """``x`` itself, written to memory.

    A conditional whose predicate (``it >= 0``) always holds, unknown to the compiler, keeps XLA:CPU from fusing
    ``x`` into each consumer and recomputing it there (2-3x slower iterations).
    """
    return jax.lax.cond(it >= 0, lambda y: y, lambda y: jax.tree.map(jnp.negative, y), x)


class _BpState(NamedTuple):
    v2c: jax.Array  # float32 [d_c * m, W] variable-to-check messages, slot-major edges
    bits: jax.Array  # bool [n, W] decisions (frozen once a word stops)
    done: jax.Array  # bool [W] converged (padding columns count as converged)
    iters: jax.Array  # int32 [W] iterations run by each word


@jax.jit
def _bp_init(llr: jax.Array, valid: jax.Array, check_vars: jax.Array, clip: jax.Array) -> tuple[jax.Array, _BpState]:
    """State before the first iteration for ``llr [W, n]``; columns ``>= valid`` are padding."""
    llr_t = jnp.clip(llr.astype(jnp.float32).T, -clip, clip)  # [n, W]: the batch is the minor axis
    width = llr_t.shape[1]
    v2c = jnp.take(llr_t, check_vars.T.reshape(-1), axis=0, mode="clip")
    return llr_t, _BpState(v2c, llr_t < 0, jnp.arange(width) >= valid, jnp.zeros((width,), jnp.int32))


def flooding_iteration(
    v2c: jax.Array,
    llr_t: jax.Array,
    tables: tuple[jax.Array, jax.Array, jax.Array, jax.Array],
    *,
    algorithm: str,
    alpha: Any,
    beta: Any,
    clip: Any,
    check_regular: bool,
    var_regular: bool,
    stacked: bool,
    edge: jax.Array | None = None,
    offset: jax.Array | None = None,
    llr_weight: jax.Array | None = None,
    step: jax.Array | None = None,
) -> tuple[jax.Array, jax.Array, jax.Array]:
    """One flooding iteration of (weighted) BP on messages ``v2c [d_c m, W]`` (slot-major edges) and channel LLRs
    ``llr_t [n, W]``: ``(next v2c, posterior [n, W], zero syndrome [W])``. The one iteration of :func:`bp_decode`
    (flooding) and of neural BP (``methods/neural_bp.py``).

    ``tables``: ``(check_vars, check_mask, var_edges, var_mask)`` (:attr:`TannerGraph.device_tables`). ``stacked``:
    the check update on stacked slots ``[d_c, m, W]`` and one gather for the variable sums (high degrees), else the
    per-slot unrolled kernel. Weights (Nachmani et al. 2018; rows broadcasting against ``[d_c m, W]`` / ``[n, W]``):
    ``offset`` (magnitude ``max(|m_{c->v}| - offset, 0)``), then ``edge`` (``m_{c->v}`` times it), ``llr_weight``
    (the channel LLR's weight in the posterior). ``step``: the loop counter, to keep XLA:CPU from recomputing the
    check messages in each consumer (:func:`_materialize`); None inside differentiated code.
    """
    check_vars, check_mask, var_edges, var_mask = tables
    m, dc = check_vars.shape
    n, dv = var_edges.shape
    masks = None if check_regular else [check_mask[:, j : j + 1] for j in range(dc)]

    def keep(x: Any) -> Any:
        return x if step is None else _materialize(x, step)

    if stacked:
        c2v = _check_update_stacked(v2c.reshape(dc, m, -1), check_mask.T[:, :, None], algorithm, alpha, clip, beta)
        c2v = keep(c2v.reshape(v2c.shape))
    else:
        slots = [v2c[j * m : (j + 1) * m] for j in range(dc)]
        c2v = jnp.concatenate(keep(_check_update(slots, masks, algorithm, alpha, clip, beta)), axis=0)
    if offset is not None:
        c2v = jnp.sign(c2v) * jax.nn.relu(jnp.abs(c2v) - offset)
    if edge is not None:
        c2v = c2v * edge
    post = llr_t if llr_weight is None else llr_t * llr_weight
    if stacked:
        g = jnp.take(c2v, var_edges.reshape(-1), axis=0, mode="clip").reshape(n, dv, -1)
        post = post + jnp.sum(jnp.where(var_mask[:, :, None], g, 0.0), axis=1)
    else:
        for k in range(dv):
            g = jnp.take(c2v, var_edges[:, k], axis=0, mode="clip")
            post = post + (g if var_regular else jnp.where(var_mask[:, k : k + 1], g, 0.0))
    post = keep(post)
    p_edge = jnp.take(post, check_vars.T.reshape(-1), axis=0, mode="clip")  # posterior of each edge's variable
    hard = p_edge < 0
    parity = hard[:m] if masks is None else hard[:m] & masks[0]
    for j in range(1, dc):
        h = hard[j * m : (j + 1) * m]
        parity = parity ^ (h if masks is None else h & masks[j])
    return jnp.clip(p_edge - c2v, -clip, clip), post, ~jnp.any(parity, axis=0)


@functools.partial(jax.jit, static_argnames=("algorithm", "check_regular", "var_regular", "stacked"))
def _bp_run(
    state: _BpState,
    llr_t: jax.Array,
    stop_at: jax.Array,
    max_iters: jax.Array,
    alpha: jax.Array,
    beta: jax.Array,
    clip: jax.Array,
    check_vars: jax.Array,
    check_mask: jax.Array,
    var_edges: jax.Array,
    var_mask: jax.Array,
    weights: BpWeights | None = None,
    *,
    algorithm: str,
    check_regular: bool,
    var_regular: bool,
    stacked: bool = False,
) -> _BpState:
    """Flooding iterations (:func:`flooding_iteration`) until at most ``stop_at`` words are active (unconverged,
    below ``max_iters``). ``weights``: :class:`BpWeights`, each word's row chosen by its own iteration count."""
    weights = BpWeights() if weights is None else weights
    tables = (check_vars, check_mask, var_edges, var_mask)

    def active_of(s: _BpState) -> jax.Array:
        return ~s.done & (s.iters < max_iters)

    def row_of(w: jax.Array | None, iters: jax.Array) -> jax.Array | None:
        """``w [T, r]`` -> ``[r, W]`` (or ``[r, 1]`` when ``T = 1``): each word's row for its next iteration."""
        if w is None or w.shape[0] == 1:
            return None if w is None else w[0][:, None]
        # A chain of selects (fused into the consumer) is faster on XLA:CPU than a gather of [r, W] elements.
        row = w[-1][:, None]
        for t in range(w.shape[0] - 2, -1, -1):
            row = jnp.where((iters == t)[None, :], w[t][:, None], row)
        return row

    def body(carry: tuple[jax.Array, _BpState]) -> tuple[jax.Array, _BpState]:
        step, s = carry
        v2c, post, ok = flooding_iteration(
            s.v2c,
            llr_t,
            tables,
            algorithm=algorithm,
            alpha=alpha,
            beta=beta,
            clip=clip,
            check_regular=check_regular,
            var_regular=var_regular,
            stacked=stacked,
            edge=row_of(weights.edge, s.iters),
            offset=row_of(weights.offset, s.iters),
            llr_weight=row_of(weights.llr, s.iters),
            step=step,
        )
        active = active_of(s)
        return step + 1, _BpState(
            v2c,
            jnp.where(active[None, :], post < 0, s.bits),
            s.done | (ok & active),
            s.iters + active.astype(jnp.int32),
        )

    def cond(carry: tuple[jax.Array, _BpState]) -> jax.Array:
        return jnp.sum(active_of(carry[1])) > stop_at

    return jax.lax.while_loop(cond, body, (jnp.int32(0), state))[1]


@jax.jit
def _bp_result(state: _BpState) -> BpResult:
    return BpResult(state.bits.T.astype(jnp.uint8), state.done, state.iters)


@jax.jit
def _layered_init(
    llr: jax.Array, valid: jax.Array, check_vars: jax.Array, clip: jax.Array
) -> tuple[jax.Array, _BpState]:
    """Layered state before the first iteration: ``state.v2c`` holds the message array of
    :meth:`TannerGraph.layer_tables` (check-to-variable messages 0, then the posteriors, = the channel LLRs)."""
    llr_t = jnp.clip(llr.astype(jnp.float32).T, -clip, clip)
    width = llr_t.shape[1]
    edges = check_vars.shape[0] * check_vars.shape[1]
    msgs = jnp.concatenate([jnp.zeros((edges + 1, width), jnp.float32), llr_t, jnp.zeros((1, width), jnp.float32)])
    return llr_t, _BpState(msgs, llr_t < 0, jnp.arange(width) >= valid, jnp.zeros((width,), jnp.int32))


@functools.partial(jax.jit, static_argnames=("algorithm", "check_regular"))
def _layered_run(
    state: _BpState,
    llr_t: jax.Array,
    stop_at: jax.Array,
    max_iters: jax.Array,
    alpha: jax.Array,
    beta: jax.Array,
    clip: jax.Array,
    check_vars: jax.Array,
    check_mask: jax.Array,
    var_rows: jax.Array,
    edge_rows: jax.Array,
    layer_mask: jax.Array,
    *,
    algorithm: str,
    check_regular: bool,
) -> _BpState:
    """Row-layered iterations until at most ``stop_at`` words are active (:func:`bp_decode`).

    Layer ``l`` (checks sharing no variable): ``m_{v->c} = clip(L_v - m_{c->v})``, new ``m_{c->v}`` by the check rule,
    ``L_v = m_{v->c} + m_{c->v}``; one iteration sweeps all layers, then decides and tests the syndrome.
    """
    m, dc = check_vars.shape
    n = llr_t.shape[0]
    num_layers, size, _ = var_rows.shape
    var0 = dc * m + 1
    flat_vars = check_vars.T.reshape(-1)
    smasks = None if check_regular else [check_mask[:, j : j + 1] for j in range(dc)]

    def active_of(s: _BpState) -> jax.Array:
        return ~s.done & (s.iters < max_iters)

    def layer(i: jax.Array, msgs: jax.Array) -> jax.Array:
        vr = var_rows[i].T.reshape(-1)  # slot-major [dc * size]
        er = edge_rows[i].T.reshape(-1)
        mk = layer_mask[i]
        old = jnp.take(msgs, er, axis=0, mode="clip")
        v2c = jnp.clip(jnp.take(msgs, vr, axis=0, mode="clip") - old, -clip, clip)
        if algorithm == "min_sum" and dc > 1:
            new = _min_sum_stacked(v2c.reshape(dc, size, -1), mk.T[:, :, None], alpha, beta, clip).reshape(v2c.shape)
        else:
            slots = [v2c[j * size : (j + 1) * size] for j in range(dc)]
            new = jnp.concatenate(
                _check_update(slots, [mk[:, j : j + 1] for j in range(dc)], algorithm, alpha, clip, beta), axis=0
            )
        msgs = msgs.at[er].set(new, mode="promise_in_bounds")
        return msgs.at[vr].set(v2c + new, mode="promise_in_bounds")

    def body(s: _BpState) -> _BpState:
        msgs = jax.lax.fori_loop(0, num_layers, layer, s.v2c)
        post = msgs[var0 : var0 + n]
        hard = jnp.take(post, flat_vars, axis=0, mode="clip") < 0
        parity = hard[:m] if smasks is None else hard[:m] & smasks[0]
        for j in range(1, dc):
            h = hard[j * m : (j + 1) * m]
            parity = parity ^ (h if smasks is None else h & smasks[j])
        ok = ~jnp.any(parity, axis=0)
        active = active_of(s)
        return _BpState(
            msgs,
            jnp.where(active[None, :], post < 0, s.bits),
            s.done | (ok & active),
            s.iters + active.astype(jnp.int32),
        )

    return jax.lax.while_loop(lambda s: jnp.sum(active_of(s)) > stop_at, body, state)


def bp_decode(
    code_or_graph: Any,
    llr: Any,
    *,
    algorithm: str = "sum_product",
    max_iters: int = 50,
    alpha: float | None = None,
    llr_clip: float = DEFAULT_LLR_CLIP,
    compaction: int | None = 4,
    tile: int = 256,
    beta: float | None = None,
    schedule: str = "flooding",
    layers: Any = None,
    weights: BpWeights | None = None,
    stacked: bool | None = None,
) -> BpResult:
    """Batched belief propagation (flooding or row-layered) with per-codeword early stopping (module docstring).

    Args:
      code_or_graph: an :class:`LdpcCode`, a :class:`TannerGraph` or a parity-check matrix ``[m, n]``.
      llr: ``[B, n]`` channel LLRs ``log P(x=0|y) / P(x=1|y)`` (:func:`channel_llr`), NumPy or JAX, clipped to
        ``+-llr_clip`` on entry. If traced (inside ``jax.jit``), the whole batch is iterated until every word has
        stopped, without tiling or compaction (same outputs).
      algorithm: ``'sum_product'`` (tanh rule) or ``'min_sum'`` (normalised by ``alpha``).
      max_iters: maximum number of iterations, ``>= 1``.
      alpha: min-sum normalisation in (0, 1], default :data:`DEFAULT_MIN_SUM_ALPHA`; must be None for sum-product.
      beta: min-sum offset ``>= 0`` (offset min-sum, Chen and Fossorier 2002: magnitude ``alpha max(min - beta, 0)``),
        default 0; must be None for sum-product. ``alpha=1, beta=b``: offset min-sum; ``alpha=1, beta=0``: plain.
      schedule: ``'flooding'`` (all checks, then all variables) or ``'layered'`` (row-layered, Hocevar 2004: the
        checks of one layer at a time, each layer updating the posteriors the next one reads; about half as many
        iterations). An iteration is one sweep over all layers; decisions and the syndrome test follow it.
      layers: layered only: the checks in layers, a partition of ``range(m)`` into sets of checks sharing no
        variable (for lifted codes the row blocks of ``Z`` checks); None for :attr:`TannerGraph.default_layers`.
      llr_clip: bound on the magnitude of channel LLRs and of messages, > 0.
      compaction: a tile stops once at most ``1/compaction`` of its words are active; those are pooled and decoded
        on in smaller tiles (module docstring). ``None`` or 1 iterates each tile to the end.
      tile: largest number of words iterated together, a power of two (smaller batches are padded to one). Each
        tile width compiles once; ``max_iters``, ``alpha`` and ``llr_clip`` are traced and never recompile.
      weights: flooding only: :class:`BpWeights` of weighted ("neural") BP, each word using the row of its own
        iteration (so early stopping and compaction apply unchanged); None: plain BP.
      stacked: flooding only: the stacked check update (prefix/suffix scans over the slot axis) instead of the
        per-slot unrolled kernel; None chooses by degree (:func:`use_stacked`). Same rule, equal up to rounding.

    Outputs do not depend on ``compaction`` or ``tile``.

    Returns:
      :class:`BpResult` ``(bits [B, n] uint8, converged [B] bool, iterations [B] int32)`` (JAX arrays).

    Raises:
      ValueError: bad ``H`` (not binary 2-D), ``llr`` not ``[B, n]`` or holding NaN (NumPy input), bad options.
    """
    if isinstance(code_or_graph, LdpcCode):
        graph = code_or_graph.graph
    elif isinstance(code_or_graph, TannerGraph):
        graph = code_or_graph
    else:
        graph = TannerGraph.from_parity_check(code_or_graph)
    if algorithm not in ALGORITHMS:
        raise ValueError(f"algorithm must be one of {ALGORITHMS}, got {algorithm!r}")
    if schedule not in SCHEDULES:
        raise ValueError(f"schedule must be one of {SCHEDULES}, got {schedule!r}")
    if layers is not None and schedule != "layered":
        raise ValueError(f"layers is for schedule='layered' only; it must be None for schedule={schedule!r}")
    if (weights is not None or stacked is not None) and schedule != "flooding":
        raise ValueError(f"weights and stacked are for schedule='flooding' only; got schedule={schedule!r}")
    if stacked is not None and not isinstance(stacked, bool):
        raise ValueError(f"stacked must be None, True or False, got {stacked!r}")
    max_iters = _check_int("max_iters", max_iters, 1)
    if algorithm == "min_sum":
        alpha = DEFAULT_MIN_SUM_ALPHA if alpha is None else _check_real("alpha", alpha, 0.0, 1.0, True, False)
        beta = 0.0 if beta is None else _check_real("beta", beta, 0.0, math.inf, False, True)
    elif alpha is not None:
        raise ValueError(f"alpha is the min-sum normalisation; it must be None for sum_product, got {alpha!r}")
    elif beta is not None:
        raise ValueError(f"beta is the min-sum offset; it must be None for sum_product, got {beta!r}")
    else:
        alpha, beta = 1.0, 0.0
    llr_clip = _check_real("llr_clip", llr_clip, 0.0, math.inf, True, True)
    if compaction is not None:
        compaction = _check_int("compaction", compaction, 1)
    tile = _check_int("tile", tile, 1)
    if tile & (tile - 1):
        raise ValueError(f"tile must be a power of two, got {tile}")
    if not isinstance(llr, jax.Array):
        llr = np.asarray(llr)
        if llr.dtype.kind not in "iuf":
            raise ValueError(f"llr must hold real numbers, got dtype {llr.dtype}")
        if np.isnan(llr).any():
            raise ValueError("llr must not contain NaN")
    if llr.ndim != 2 or llr.shape[1] != graph.n:
        raise ValueError(f"llr must have shape [B, n] with n={graph.n}, got {tuple(llr.shape)}")
    batch = int(llr.shape[0])
    if batch < 1:
        raise ValueError("llr must hold at least one word (B >= 1)")

    if weights is not None:
        weights = _check_weights(weights, graph, max_iters)
    tables = graph.device_tables
    clip = np.float32(llr_clip)
    common = dict(
        max_iters=np.int32(max_iters),
        alpha=np.float32(alpha),
        beta=np.float32(beta),
        clip=clip,
        check_vars=tables[0],
        check_mask=tables[1],
        algorithm=algorithm,
        check_regular=graph.check_regular,
    )
    if schedule == "flooding":
        init = _bp_init
        run = functools.partial(
            _bp_run,
            var_edges=tables[2],
            var_mask=tables[3],
            weights=weights,
            var_regular=graph.var_regular,
            stacked=use_stacked(graph) if stacked is None else stacked,
            **common,
        )
    else:
        init = _layered_init
        var_rows, edge_rows, layer_mask = graph.layer_tables(layers)
        run = functools.partial(_layered_run, var_rows=var_rows, edge_rows=edge_rows, layer_mask=layer_mask, **common)
    if isinstance(llr, jax.core.Tracer):  # inside jit / vmap: one while loop over the batch
        llr_t, state = init(llr, np.int32(batch), tables[0], clip)
        return _bp_result(run(state, llr_t, stop_at=np.int32(0)))
    return _bp_decode_tiled(run, llr, graph, batch, max_iters, clip, compaction, tile, tables[0], init)


def _check_weights(weights: Any, graph: TannerGraph, max_iters: int) -> BpWeights:
    """``weights`` as a :class:`BpWeights` of float32 arrays ``[T, size]`` with ``T`` 1 or ``max_iters``."""
    if not isinstance(weights, BpWeights):
        raise ValueError(f"weights must be a codes.ldpc.BpWeights or None, got {type(weights).__name__}")
    sizes = {"edge": graph.m * graph.max_check_degree, "offset": graph.m * graph.max_check_degree, "llr": graph.n}
    out = {}
    for name, size in sizes.items():
        w = getattr(weights, name)
        if w is None:
            out[name] = None
            continue
        w = w.astype(jnp.float32) if isinstance(w, jax.Array) else jnp.asarray(np.asarray(w, np.float32))
        if w.ndim != 2 or w.shape[1] != size or w.shape[0] not in (1, max_iters):
            raise ValueError(
                f"weights.{name} must have shape [T, {size}] with T = 1 or max_iters={max_iters}, got {tuple(w.shape)}"
            )
        out[name] = w
    return BpWeights(**out)


def _bp_decode_tiled(
    run: Any,
    llr: Any,
    graph: TannerGraph,
    batch: int,
    max_iters: int,
    clip: Any,
    compaction: int | None,
    tile: int,
    check_vars: jax.Array,
    init: Any = _bp_init,
) -> BpResult:
    """Host-side schedule of :func:`bp_decode`: tiles, then pools of the still active words in smaller tiles."""
    llr = np.asarray(llr, np.float32)  # host copy: chunks are sliced and padded with NumPy
    n = graph.n
    out_bits = np.zeros((batch, n), np.uint8)
    out_conv = np.zeros(batch, bool)
    out_iters = np.zeros(batch, np.int32)
    # The pool: words still active after the previous level, as columns (ids, v2c, llr_t, bits, iters).
    pool: tuple[np.ndarray, ...] | None = None
    first = True
    while first or (pool is not None and pool[0].size):
        count = batch if first else pool[0].size  # type: ignore[index]
        width = min(tile, _pow2_at_least(count))
        stop_at = width // compaction if compaction and compaction > 1 else 0
        left: list[tuple[np.ndarray, ...]] = []
        for start in range(0, count, width):
            real = min(width, count - start)
            ids = np.arange(start, start + real) if first else pool[0][start : start + real]  # type: ignore[index]
            if first:
                chunk = llr[start : start + real]
                if real < width:
                    chunk = np.concatenate([chunk, np.zeros((width - real, n), np.float32)], axis=0)
                llr_t, state = init(chunk, np.int32(real), check_vars, clip)
            else:
                cols = np.concatenate([np.arange(start, start + real), np.full(width - real, start)])
                v2c, llr_np, bits, iters = (x[..., cols] for x in pool[1:])  # type: ignore[index]
                llr_t = jnp.asarray(llr_np)
                state = _BpState(
                    jnp.asarray(v2c), jnp.asarray(bits), jnp.asarray(np.arange(width) >= real), jnp.asarray(iters)
                )
            state = run(state, llr_t, stop_at=np.int32(stop_at))
            done, iters = jax.device_get((state.done, state.iters))
            active = ~done[:real] & (iters[:real] < max_iters)
            if first and width == batch and not active.any():
                return _bp_result(state)  # a single full tile: no host round trip
            bits = np.asarray(state.bits)
            out_bits[ids] = bits[:, :real].T
            out_conv[ids] = done[:real]
            out_iters[ids] = iters[:real]
            keep = np.flatnonzero(active)
            if keep.size:
                left.append(
                    (ids[keep], np.asarray(state.v2c)[:, keep], np.asarray(llr_t)[:, keep], bits[:, keep], iters[keep])
                )
        pool = tuple(np.concatenate(parts, axis=-1) for parts in zip(*left)) if left else None
        first = False
    return BpResult(jnp.asarray(out_bits), jnp.asarray(out_conv), jnp.asarray(out_iters))
