"""The structure of a codebook: distances, linearity, perfection, and equivalence to a reference code.

A codebook is ``[M, n]`` bits (``n <= 62``), one codeword per row, linear or not (the learned codes of arXiv
2511.09221 are checked with these functions: 16 distinct codewords, minimum distance 3, linearity, perfection;
coding-anchors Sec. 2.4).

* Distance distribution ``A_d = (1/M) #{(m, m') : d(x_m, x_m') = d}`` (ordered pairs, ``A_0 = 1`` for distinct
  codewords); for a linear code, or a coset of one, the weight distribution of the linear code.
* Linear: distinct rows forming a subspace (closed under XOR, containing 0). Coset of a linear code: ``x_0 + L``,
  i.e. ``{x + x_0}`` is linear for any codeword ``x_0``.
* Perfect: distinct rows with ``M * sum_{i<=t} C(n,i) = 2^n``, ``t = floor((d-1)/2)`` (radius-t balls tile the space).
* Equivalence: a coordinate permutation followed by a translation maps the codeword set onto the reference's;
  :func:`find_equivalence` returns ``perm`` and ``t`` with ``{x[perm] ^ t : x in codebook} == reference`` (as sets).

The equivalence search fixes the translation by matching one codeword to reference codewords with the same distance
profile (a single candidate when the reference is a coset of a linear code), then searches coordinate permutations by
individualisation and refinement: word and coordinate colours (iterated hashes, matched coordinates individualised)
must agree as multisets; a coordinate with the fewest candidates is matched next, backtracking on failure. Colours
only prune; every answer is verified exactly.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from neuralcodes_jax.codes import gf2
from neuralcodes_jax.codes.exact import nearest_codeword_distances
from neuralcodes_jax.codes.linear import (
    BCH_GENERATOR_POLYNOMIALS,
    LinearCode,
    bch_code,
    code_from_codewords,
    extended_golay_code,
    extended_hamming_code,
    golay_code,
    hamming_code,
    reed_muller_first_order,
)

__all__ = [
    "distinct_codewords",
    "num_distinct_codewords",
    "distance_profiles",
    "distance_distribution",
    "pairwise_distance_counts",
    "weight_distribution",
    "minimum_distance",
    "is_linear",
    "is_coset_of_linear",
    "coset_decomposition",
    "covering_radius",
    "is_perfect",
    "is_distance_invariant",
    "Equivalence",
    "find_equivalence",
    "are_equivalent",
    "reference_codes",
    "summarize_codebook",
    "EquivalenceSearchError",
]

_MAX_N = 62
_FIRST_PASS_NODES = 256


def _codebook(codebook: Any, name: str = "codebook") -> tuple[np.ndarray, np.ndarray]:
    bits = gf2.as_binary_matrix(codebook, name)
    if bits.shape[1] > _MAX_N:
        raise ValueError(f"{name} length n must be <= {_MAX_N}, got {bits.shape[1]}")
    return bits, gf2.bits_to_int(bits)


def _distinct(ints: np.ndarray) -> bool:
    return np.unique(ints).size == ints.size


# ------------------------------------------------------------------------------------- distances
def distinct_codewords(codebook: Any) -> np.ndarray:
    """The distinct rows, in order of first occurrence."""
    bits, ints = _codebook(codebook)
    _, first = np.unique(ints, return_index=True)
    return bits[np.sort(first)]


def num_distinct_codewords(codebook: Any) -> int:
    """Number of distinct rows."""
    return int(np.unique(_codebook(codebook)[1]).size)


def _profiles(ints: np.ndarray, n: int, chunk_elems: int = 1 << 22) -> np.ndarray:
    m = ints.size
    out = np.zeros((m, n + 1), dtype=np.int64)
    rows = max(1, chunk_elems // m)
    for start in range(0, m, rows):
        block = ints[start : start + rows]
        d = np.bitwise_count(block[:, None] ^ ints[None, :]).astype(np.int64)
        offsets = np.arange(block.size, dtype=np.int64)[:, None] * (n + 1)
        out[start : start + block.size] = np.bincount((d + offsets).ravel(), minlength=block.size * (n + 1)).reshape(
            block.size, n + 1
        )
    return out


def distance_profiles(codebook: Any) -> np.ndarray:
    """``int64 [M, n+1]``: row ``m`` counts the codewords (itself included) at each distance from ``x_m``."""
    bits, ints = _codebook(codebook)
    return _profiles(ints, bits.shape[1])


def distance_distribution(codebook: Any) -> np.ndarray:
    """``A_d = (1/M) #{(m, m'): d(x_m, x_m') = d}``, ``float64 [n+1]`` (the weight distribution if linear)."""
    return distance_profiles(codebook).mean(axis=0)


def pairwise_distance_counts(codebook: Any) -> np.ndarray:
    """Number of unordered pairs ``{m < m'}`` at each distance, ``int64 [n+1]``."""
    bits, ints = _codebook(codebook)
    prof = _profiles(ints, bits.shape[1])
    total = prof.sum(axis=0)
    total[0] -= ints.size  # remove d(x_m, x_m)
    return total // 2


def weight_distribution(codebook: Any) -> np.ndarray:
    """Number of codewords of each Hamming weight, ``int64 [n+1]`` (the weight enumerator)."""
    bits, _ = _codebook(codebook)
    return np.bincount(bits.sum(axis=1), minlength=bits.shape[1] + 1).astype(np.int64)


def minimum_distance(codebook: Any) -> int:
    """Minimum distance between two different rows (0 if a codeword repeats); ValueError for fewer than 2 rows."""
    bits, ints = _codebook(codebook)
    if ints.size < 2:
        raise ValueError(f"codebook must have at least 2 codewords for a minimum distance, got {ints.size}")
    counts = pairwise_distance_counts(bits)
    return int(np.flatnonzero(counts)[0])


def is_distance_invariant(codebook: Any) -> bool:
    """Whether every codeword sees the same distance profile (true for cosets of linear codes)."""
    prof = distance_profiles(codebook)
    return bool(np.all(prof == prof[0]))


# -------------------------------------------------------------------------------------- structure
def is_linear(codebook: Any) -> bool:
    """Whether the rows are distinct and form a linear subspace (closed under XOR, containing 0)."""
    bits, ints = _codebook(codebook)
    m = ints.size
    if not _distinct(ints) or m & (m - 1):
        return False
    return (1 << gf2.rank(bits)) == m


def is_coset_of_linear(codebook: Any) -> bool:
    """Whether the rows are a coset ``x_0 + L`` of a linear code ``L`` (linear codes included)."""
    bits, _ = _codebook(codebook)
    return is_linear(bits ^ bits[0])


def coset_decomposition(codebook: Any) -> tuple[np.ndarray, LinearCode | None] | None:
    """``(x_0, L)`` with codebook ``= x_0 + L`` if the rows are a coset of a linear code, else None.

    ``x_0`` is the smallest codeword as an integer (all zeros for a linear code). ``L`` is None when it is ``{0}`` or
    the whole space (no :class:`LinearCode` with ``1 <= k < n``).
    """
    bits, ints = _codebook(codebook)
    if not is_coset_of_linear(bits):
        return None
    x0 = bits[int(np.argmin(ints))]
    shifted = bits ^ x0
    k = ints.size.bit_length() - 1
    if k == 0 or k == bits.shape[1]:
        return x0.copy(), None
    return x0.copy(), code_from_codewords(shifted)


def covering_radius(codebook: Any) -> int:
    """Largest distance from a word of ``{0,1}^n`` to the codebook (``n <= 24``)."""
    return int(nearest_codeword_distances(codebook, allow_repeated=True).max())


def is_perfect(codebook: Any) -> bool:
    """Sphere-packing equality ``M * V(n, t) = 2^n`` with ``t = floor((d - 1) / 2)``, distinct rows, M >= 2."""
    bits, ints = _codebook(codebook)
    m, n = bits.shape
    if m < 2 or not _distinct(ints):
        return False
    t = (minimum_distance(bits) - 1) // 2
    return m * sum(math.comb(n, i) for i in range(t + 1)) == 1 << n


# ------------------------------------------------------------------------------------ equivalence
class EquivalenceSearchError(RuntimeError):
    """The permutation search exceeded its node budget without a decision."""


@dataclasses.dataclass(frozen=True)
class Equivalence:
    """``codebook[:, permutation] ^ translation`` is the reference codeword set.

    Attributes:
      permutation: ``int64 [n]``; column ``c`` of the mapped codebook is column ``permutation[c]``.
      translation: ``uint8 [n]``, added (XOR) after permuting.
      codeword_map: ``int64 [M]``; row ``i`` of the codebook maps to row ``codeword_map[i]`` of the reference.
    """

    permutation: np.ndarray
    translation: np.ndarray
    codeword_map: np.ndarray

    def apply(self, codebook: Any) -> np.ndarray:
        """Maps codewords ``[..., n]`` into the reference's coordinates."""
        return np.asarray(codebook)[..., self.permutation] ^ self.translation

    def to_dict(self) -> dict[str, Any]:
        return {
            "permutation": self.permutation.tolist(),
            "translation": self.translation.tolist(),
            "codeword_map": self.codeword_map.tolist(),
        }


_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


def _mix(x: Any) -> np.ndarray:
    """splitmix64 finaliser, elementwise on uint64 arrays (wrapping arithmetic, no warnings)."""
    x = np.atleast_1d(np.asarray(x, dtype=np.uint64)) + _GOLDEN
    x = (x ^ (x >> np.uint64(30))) * _M1
    x = (x ^ (x >> np.uint64(27))) * _M2
    return x ^ (x >> np.uint64(31))


class _PermutationSearch:
    """Finds a coordinate permutation mapping word set ``a`` onto word set ``b`` (both ``[M, n]``).

    ``word_keys_a/b``: hashes of each word's distance profile in its set; with the weights, the initial word colours.
    """

    max_rounds = 8

    def __init__(self, a: np.ndarray, b: np.ndarray, word_keys_a: np.ndarray, word_keys_b: np.ndarray, max_nodes: int):
        self.a = a
        self.b = b
        self.n = a.shape[1]
        self.a64 = a.astype(np.uint64)
        self.b64 = b.astype(np.uint64)
        self.wa = _mix(_mix(a.sum(axis=1).astype(np.uint64)) ^ word_keys_a)
        self.wb = _mix(_mix(b.sum(axis=1).astype(np.uint64)) ^ word_keys_b)
        self.target = np.sort(gf2.bits_to_int(b))
        self.max_nodes = max_nodes
        self.nodes = 0

    def _initial_cc(self, assigned: list[int]) -> np.ndarray:
        cc = _mix(np.full(self.n, 7, dtype=np.uint64))
        if assigned:
            cc[assigned] = _mix(np.arange(len(assigned), dtype=np.uint64) + np.uint64(1 << 32))
        return cc

    def _refine(self, assigned_a: list[int], assigned_b: list[int]):
        """Colour refinement of both sets in lockstep until the partitions stop splitting.

        Returns ``(cc_a, wc_a, cc_b, wc_b)``, or None as soon as the colour multisets differ.
        """
        cc_a, cc_b = self._initial_cc(assigned_a), self._initial_cc(assigned_b)
        wc_a, wc_b = self.wa, self.wb
        classes = -1
        with np.errstate(over="ignore"):
            for _ in range(self.max_rounds):
                wc_a = _mix(wc_a ^ _mix(self.a64 @ cc_a))
                wc_b = _mix(wc_b ^ _mix(self.b64 @ cc_b))
                cc_a = self._coordinate_update(self.a64, wc_a, cc_a)
                cc_b = self._coordinate_update(self.b64, wc_b, cc_b)
                if not (np.array_equal(np.sort(cc_a), np.sort(cc_b)) and np.array_equal(np.sort(wc_a), np.sort(wc_b))):
                    return None
                now = np.unique(cc_a).size + np.unique(wc_a).size
                if now == classes:
                    break
                classes = now
        return cc_a, wc_a, cc_b, wc_b

    @staticmethod
    def _coordinate_update(x64: np.ndarray, wc: np.ndarray, cc: np.ndarray) -> np.ndarray:
        """New coordinate colours from the words on each coordinate and on each coordinate pair.

        ``pair[i, j]`` hashes the colours of the words with ones at ``i`` and ``j``; coordinate ``j`` collects the
        multiset of ``(colour of i, pair[i, j])`` over ``i``.
        """
        single = _mix(x64.T @ wc)
        pair = _mix((x64.T * _mix(wc ^ np.uint64(0x5BD1E995))) @ x64)
        mixed = _mix(pair ^ cc[:, None]).sum(axis=0, dtype=np.uint64)
        return _mix(cc ^ single ^ _mix(mixed))

    def _verify(self, mapping: dict[int, int]) -> np.ndarray | None:
        perm = np.empty(self.n, dtype=np.int64)  # perm[b_col] = a_col
        for ja, jb in mapping.items():
            perm[jb] = ja
        if np.array_equal(np.sort(gf2.bits_to_int(self.a[:, perm])), self.target):
            return perm
        return None

    def run(self) -> np.ndarray | None:
        return self._search([], [])

    def _search(self, assigned_a: list[int], assigned_b: list[int]) -> np.ndarray | None:
        self.nodes += 1
        if self.nodes > self.max_nodes:
            raise EquivalenceSearchError(
                f"equivalence search exceeded max_nodes={self.max_nodes}; raise max_nodes to continue"
            )
        refined = self._refine(assigned_a, assigned_b)
        if refined is None:
            return None
        cc_a, _, cc_b, _ = refined
        used_a, used_b = set(assigned_a), set(assigned_b)
        free_a = np.array([j for j in range(self.n) if j not in used_a], dtype=np.int64)
        free_b = np.array([j for j in range(self.n) if j not in used_b], dtype=np.int64)
        if free_a.size == 0:
            return self._verify(dict(zip(assigned_a, assigned_b)))
        colours, counts = np.unique(cc_b[free_b], return_counts=True)
        if counts.max() == 1:  # discrete: the rest of the mapping is forced by the colours
            where = {int(c): int(j) for c, j in zip(cc_b[free_b], free_b)}
            mapping = dict(zip(assigned_a, assigned_b))
            mapping.update({int(j): where[int(cc_a[j])] for j in free_a})
            return self._verify(mapping)
        count_of = dict(zip(colours.tolist(), counts.tolist()))
        j = int(min(free_a, key=lambda col: (count_of[int(cc_a[col])], col)))
        for c in free_b[cc_b[free_b] == cc_a[j]]:
            found = self._search(assigned_a + [j], assigned_b + [int(c)])
            if found is not None:
                return found
        return None


def _set_hash(ints: np.ndarray) -> int:
    with np.errstate(over="ignore"):
        return int(_mix(ints.astype(np.uint64)).sum(dtype=np.uint64))


def find_equivalence(codebook: Any, reference: Any, max_nodes: int = 100_000) -> Equivalence | None:
    """A permutation and translation mapping ``codebook`` onto ``reference``, or None if there is none.

    None also when the shapes differ. ``max_nodes``: search budget (a node costs a few ``O(M n)`` products). Raises
    ValueError if an input is not binary or has repeated rows, EquivalenceSearchError if the budget runs out.
    """
    a_bits, a_ints = _codebook(codebook, "codebook")
    b_bits, b_ints = _codebook(reference, "reference")
    for name, ints in (("codebook", a_ints), ("reference", b_ints)):
        if not _distinct(ints):
            raise ValueError(f"{name} must have distinct codewords for an equivalence test")
    if a_bits.shape != b_bits.shape:
        return None
    m, n = a_bits.shape
    prof_a = _profiles(a_ints, n)
    prof_b = _profiles(b_ints, n)
    key_a = _mix(prof_a.astype(np.uint64) @ _mix(np.arange(n + 1, dtype=np.uint64)))
    key_b = _mix(prof_b.astype(np.uint64) @ _mix(np.arange(n + 1, dtype=np.uint64)))
    if not np.array_equal(np.sort(key_a), np.sort(key_b)):
        return None
    b_coset = is_coset_of_linear(b_bits)
    if is_coset_of_linear(a_bits) != b_coset:
        return None
    # Anchor: a codeword of the codebook with the rarest distance profile.
    _, inv, cnt = np.unique(key_a, return_inverse=True, return_counts=True)
    a0 = int(np.lexsort((np.arange(m), cnt[inv]))[0])
    candidates = np.flatnonzero(key_b == key_a[a0])
    if b_coset:
        candidates = candidates[:1]  # every translate of a coset by its own words is the same set
    else:
        seen: set[int] = set()
        kept = []
        for b in candidates:
            h = _set_hash(b_ints ^ b_ints[b])
            if h not in seen:
                seen.add(h)
                kept.append(int(b))
        candidates = np.array(kept, dtype=np.int64)
    shifted_a = a_bits ^ a_bits[a0]
    # Two passes: a small node budget per translation candidate (usually enough), then the full one for the rest.
    perm, b = None, -1
    undecided = list(candidates)
    for budget in (min(_FIRST_PASS_NODES, max_nodes), max_nodes):
        pending, undecided = undecided, []
        for b in pending:
            search = _PermutationSearch(shifted_a, b_bits ^ b_bits[b], key_a, key_b, budget)
            try:
                perm = search.run()
            except EquivalenceSearchError:
                if budget == max_nodes:
                    raise
                undecided.append(b)
                continue
            if perm is not None:
                break
        if perm is not None or not undecided:
            break
    if perm is not None:
        translation = (a_bits[a0][perm] ^ b_bits[b]).astype(np.uint8)
        mapped = gf2.bits_to_int(a_bits[:, perm] ^ translation)
        order = np.argsort(b_ints)
        codeword_map = order[np.searchsorted(b_ints[order], mapped)].astype(np.int64)
        return Equivalence(perm, translation, codeword_map)
    return None


def are_equivalent(codebook: Any, reference: Any, max_nodes: int = 100_000) -> bool:
    """Whether :func:`find_equivalence` finds a permutation and translation."""
    return find_equivalence(codebook, reference, max_nodes) is not None


# ---------------------------------------------------------------------------------------- reports
def reference_codes() -> dict[str, Callable[[], LinearCode]]:
    """Named classical reference codes (constructors): Hamming and extended Hamming up to n = 32, Golay and extended
    Golay, the primitive BCH codes of lengths 15 and 31 (``codes.linear.BCH_GENERATOR_POLYNOMIALS``) and first-order
    Reed-Muller RM(1, 4)."""
    refs: dict[str, Callable[[], LinearCode]] = {}
    for r in (2, 3, 4, 5):
        n = (1 << r) - 1
        refs[f"Hamming({n},{n - r})"] = lambda r=r: hamming_code(r)
        refs[f"extended Hamming({n + 1},{n - r})"] = lambda r=r: extended_hamming_code(r)
    refs["Golay(23,12)"] = golay_code
    refs["extended Golay(24,12)"] = extended_golay_code
    for (n, k), (_, d) in BCH_GENERATOR_POLYNOMIALS.items():
        if d > 3:
            refs[f"BCH({n},{k})"] = lambda n=n, k=k: bch_code(n, k)
    refs["Reed-Muller(1,4)"] = lambda: reed_muller_first_order(4)
    return refs


def code_from_source(source: str, n: int, k: int, field: str = "source") -> LinearCode:
    """An ``(n, k)`` linear code named by ``source``: a name of :func:`reference_codes`, or a JSON file holding
    ``"generator"`` (rows as bit strings, e.g. a ``linear_code_report.json``) or ``"generators"`` (a list of them;
    ``FILE.json:INDEX`` picks one, default the first). Errors name ``field`` and what is allowed."""
    refs = reference_codes()
    if source in refs:
        code = refs[source]()
    else:
        path, _, index = source.partition(".json")
        path += ".json"
        if not source.endswith(".json") and not index.startswith(":"):
            raise ValueError(
                f"{field} must be one of {sorted(refs)} or a JSON file of generators "
                f"(FILE.json or FILE.json:INDEX), got {source!r}"
            )
        if not os.path.isfile(path):
            raise ValueError(
                f"{field} names a missing file {path!r} (expected a JSON file with 'generator' or "
                f"'generators', or one of {sorted(refs)})"
            )
        with open(path) as f:
            data = json.load(f)
        if "generator" in data:
            rows = data["generator"]
        elif "generators" in data:
            try:
                i = int(index[1:]) if index else 0
            except ValueError:
                raise ValueError(f"{field} index after {path!r} must be an integer, got {index[1:]!r}") from None
            if not 0 <= i < len(data["generators"]):
                raise ValueError(f"{field} index must be in [0, {len(data['generators'])}) for {path!r}, got {i}")
            rows = data["generators"][i]
        else:
            raise ValueError(f"{field} file {path!r} has neither 'generator' nor 'generators'")
        try:
            g = np.array([[int(b) for b in row] for row in rows], np.uint8)
        except (TypeError, ValueError):
            raise ValueError(f"{field} file: the generator rows in {path!r} must be strings of 0 and 1") from None
        code = LinearCode.from_generator(g, name=source)
    if (code.n, code.k) != (n, k):
        raise ValueError(f"{field} must be an ({n},{k}) code, got {source!r} ({code.n},{code.k})")
    return code


_REFERENCE_SHAPES = {
    "Hamming(3,1)": (3, 1),
    "extended Hamming(4,1)": (4, 1),
    "Hamming(7,4)": (7, 4),
    "extended Hamming(8,4)": (8, 4),
    "Hamming(15,11)": (15, 11),
    "extended Hamming(16,11)": (16, 11),
    "Hamming(31,26)": (31, 26),
    "extended Hamming(32,26)": (32, 26),
    "Golay(23,12)": (23, 12),
    "extended Golay(24,12)": (24, 12),
    "BCH(15,7)": (15, 7),
    "BCH(15,5)": (15, 5),
    "BCH(31,21)": (31, 21),
    "BCH(31,16)": (31, 16),
    "Reed-Muller(1,4)": (16, 5),
}


def summarize_codebook(
    codebook: Any, references: Mapping[str, Any] | None = None, max_nodes: int = 100_000
) -> dict[str, Any]:
    """JSON-ready structural summary of a codebook.

    Keys: ``n``, ``num_codewords``, ``num_distinct``, ``minimum_distance``, ``distance_distribution``,
    ``weight_distribution``, ``is_linear``, ``is_coset_of_linear``, ``is_perfect``, ``equivalent_to`` (the first
    equivalent reference's name or None) and ``equivalence`` (its :meth:`Equivalence.to_dict`).
    ``references``: name -> codebook ``[M, n]`` (or :class:`LinearCode`), by default the :func:`reference_codes` with
    the same ``n`` and ``M``.
    """
    bits, ints = _codebook(codebook)
    m, n = bits.shape
    distinct = _distinct(ints)
    out: dict[str, Any] = {
        "n": n,
        "num_codewords": m,
        "num_distinct": int(np.unique(ints).size),
        "minimum_distance": minimum_distance(bits) if m >= 2 else None,
        "distance_distribution": distance_distribution(bits).tolist(),
        "weight_distribution": weight_distribution(bits).tolist(),
        "is_linear": is_linear(bits),
        "is_coset_of_linear": is_coset_of_linear(bits) if distinct else False,
        "is_perfect": is_perfect(bits),
        "equivalent_to": None,
        "equivalence": None,
    }
    if references is None:
        references = {
            name: make
            for name, make in reference_codes().items()
            if _REFERENCE_SHAPES[name][0] == n and (1 << _REFERENCE_SHAPES[name][1]) == m
        }
    if not distinct:
        return out
    for name, ref in references.items():
        if callable(ref) and not isinstance(ref, np.ndarray):
            ref = ref()
        ref_bits = ref.codewords() if isinstance(ref, LinearCode) else np.asarray(ref)
        eq = find_equivalence(bits, ref_bits, max_nodes)
        if eq is not None:
            out["equivalent_to"] = name
            out["equivalence"] = eq.to_dict()
            break
    return out
