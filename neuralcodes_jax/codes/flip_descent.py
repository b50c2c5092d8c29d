"""Discrete finishing of a learned systematic linear code: single- and double-flip descent on the exact surrogate.

A binary parity part ``P [k, r]`` of a generator ``[I_k | P]`` is moved to the neighbour (one entry flipped, or,
when no single flip helps, two entries flipped) with the lowest surrogate, until no single or double flip lowers
it (a local minimum of the surrogate over the cube at Hamming radius 2). The surrogate is that of
:mod:`neuralcodes_jax.codes.relaxed` at a binary point, a function of the weight spectrum of the enumerated
messages, here computed exactly in integers and float64 (no float32 ties):

* the spectrum of every neighbour comes from the codeword weights of the current code: flipping entry ``(i, j)``
  toggles parity bit ``j`` of the messages with ``u_i = 1``, changing their weight by ``1 - 2 b_j(u)``; flipping
  ``(i, j)`` and ``(i', j)`` (one column) toggles it where ``u_i xor u_i' = 1``.

This is the "polish" stage of issue 24 (a post-training step of the ``linear_code`` evaluator, ``eval.polish``):
a claim about "gradient + polish", reported apart from the gradient-trained code.

Column moves (:func:`column_descent`, :func:`column_search`) replace a whole column ``j`` of ``P`` (parity bit ``j``
of every message, up to ``k`` entries at once) by the best of all ``2^k`` columns given the others, exactly: every
surrogate is a monotone function of a sum over messages ``S = sum_u g(w(u))``, and with the other columns fixed
``S(v) = sum_u g(w'(u)) + sum_{u . v odd} (g(w'(u) + 1) - g(w'(u)))`` (``w'``: the weight without bit ``j``), whose
second term for all ``v`` at once is one Walsh-Hadamard transform of length ``2^k``.
"""

from __future__ import annotations

import itertools

import numpy as np

from neuralcodes_jax.codes import gf2, relaxed


def message_bits(k: int, max_message_weight: int) -> np.ndarray:
    """The enumerated nonzero messages (weight ``<= max_message_weight``), ``uint8 [M, k]``; all of them (in the
    order of the integer ``sum_i u_i 2^i``) when ``max_message_weight >= k``."""
    if max_message_weight >= k:
        return ((np.arange(1, 1 << k)[:, None] >> np.arange(k)) & 1).astype(np.uint8)
    supports, _ = relaxed.message_supports(k, max_message_weight)
    bits = np.zeros((supports.shape[0], k + 1), np.uint8)
    np.put_along_axis(bits, supports, 1, axis=1)
    return bits[:, :k]


def code_weights(p_bits: np.ndarray, msgs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Codeword weights ``int32 [M]`` of the messages and their parity bits ``uint8 [M, r]``."""
    parity = (msgs.astype(np.int32) @ p_bits.astype(np.int32)) % 2
    return msgs.sum(1).astype(np.int32) + parity.sum(1).astype(np.int32), parity.astype(np.uint8)


def spectrum(p_bits: np.ndarray, msgs: np.ndarray) -> np.ndarray:
    """Weight spectrum ``[n + 1]`` over the enumerated messages (``A_0 = 0``)."""
    k, r = p_bits.shape
    w, _ = code_weights(p_bits, msgs)
    return np.bincount(w, minlength=k + r + 1).astype(np.float64)


def surrogate_values(spectra: np.ndarray, name: str, *, p: float, tau: float, distance: int) -> np.ndarray:
    """The surrogate ``name`` of ``relaxed.surrogate_loss`` for spectra ``[N, n + 1]`` (float64; softmin by a
    stable log-sum-exp)."""
    spectra = np.asarray(spectra, np.float64)
    n = spectra.shape[-1] - 1
    w = np.arange(n + 1)
    if name == "union":
        return np.log(spectra @ relaxed.pairwise_error(n, p) + 1e-30)
    if name == "softmin":
        a = np.where(spectra[:, 1:] > 0, np.log(np.maximum(spectra[:, 1:], 1e-300)) - w[1:] / tau, -np.inf)
        m = np.max(a, axis=1, keepdims=True)
        m = np.where(np.isfinite(m), m, 0.0)
        return tau * (np.log(np.sum(np.exp(a - m), axis=1) + 1e-300) + m[:, 0])
    if name == "distance":
        return np.log(1e-3 + spectra[:, 1:distance].sum(1))
    raise ValueError(f"surrogate must be one of {list(relaxed.SURROGATES)}, got {name!r}")


def _histograms(weights: np.ndarray, n: int) -> np.ndarray:
    """Row-wise histograms ``[N, n + 1]`` of integer weights ``[N, M]``."""
    rows = weights.shape[0]
    idx = (np.arange(rows)[:, None] * (n + 1) + weights).ravel()
    return np.bincount(idx, minlength=rows * (n + 1)).reshape(rows, n + 1).astype(np.float64)


def neighbour_values(
    p_bits: np.ndarray, msgs: np.ndarray, value_fn, pairs: bool, chunk: int = 1024
) -> tuple[np.ndarray, list[tuple[int, ...]]]:
    """Surrogate of every single-flip (and with ``pairs`` double-flip) neighbour of ``p_bits`` and the flipped
    flat entries of each."""
    k, r = p_bits.shape
    n = k + r
    w, parity = code_weights(p_bits, msgs)
    u = msgs.astype(np.int8)  # [M, k]
    sign = 1 - 2 * parity.astype(np.int8)  # [M, r]: weight change when bit j toggles
    single = (u.T[:, None, :] * sign.T[None, :, :]).reshape(k * r, -1)  # [k r, M], flat entry a = i r + j
    moves: list[tuple[int, ...]] = [(a,) for a in range(k * r)]
    values = [value_fn(_histograms(w[None] + single, n))]
    if pairs:
        all_pairs = list(itertools.combinations(range(k * r), 2))
        for s in range(0, len(all_pairs), chunk):
            block = np.asarray(all_pairs[s : s + chunk])
            a, b = block[:, 0], block[:, 1]
            same = (a % r) == (b % r)
            delta = single[a] + single[b]
            if same.any():
                ia, ib, j = a[same] // r, b[same] // r, a[same] % r
                toggled = u[:, ia].T ^ u[:, ib].T  # [S, M]
                delta[same] = toggled * sign[:, j].T
            values.append(value_fn(_histograms(w[None] + delta, n)))
        moves += [tuple(pr) for pr in all_pairs]
    return np.concatenate(values), moves


def _start(p_bits, max_message_weight: int, name: str, p: float, tau: float, distance: int):
    """A copy of ``p_bits``, the enumerated messages, the surrogate of spectra and its value at ``p_bits``."""
    p_bits = np.asarray(p_bits, np.uint8).copy()
    msgs = message_bits(p_bits.shape[0], max_message_weight)

    def value_fn(spectra):
        return surrogate_values(spectra, name, p=p, tau=tau, distance=distance)

    return p_bits, msgs, value_fn, float(value_fn(spectrum(p_bits, msgs)[None])[0])


def descend(
    p_bits: np.ndarray,
    max_message_weight: int,
    name: str,
    *,
    p: float,
    tau: float,
    distance: int,
    pairs: bool = True,
    max_moves: int = 200,
    rtol: float = 1e-9,
) -> dict:
    """Best-improvement descent from ``p_bits [k, r]`` over single flips, then (when none helps and ``pairs``)
    double flips, until neither lowers the surrogate by more than ``rtol |value|``: the final parity part, the
    surrogate before and after and the moves taken."""
    p_bits, msgs, value_fn, start = _start(p_bits, max_message_weight, name, p, tau, distance)
    value, moves = start, []
    for _ in range(max_moves):
        vals, cand = neighbour_values(p_bits, msgs, value_fn, pairs=False)
        best = int(np.argmin(vals))
        if not vals[best] < value - rtol * max(abs(value), 1.0) and pairs:
            vals, cand = neighbour_values(p_bits, msgs, value_fn, pairs=True)
            best = int(np.argmin(vals))
        if not vals[best] < value - rtol * max(abs(value), 1.0):
            break
        flat = p_bits.reshape(-1)
        flat[list(cand[best])] ^= 1
        p_bits = flat.reshape(p_bits.shape)
        value = float(vals[best])
        moves.append([int(a) for a in cand[best]])
    return {
        "p_bits": p_bits,
        "surrogate_before": start,
        "surrogate_after": value,
        "moves": moves,
        "local_minimum": len(moves) < max_moves,
    }


def tabu_search(
    p_bits: np.ndarray,
    max_message_weight: int,
    name: str,
    *,
    p: float,
    tau: float,
    distance: int,
    iterations: int,
    tenure: int,
    seed: int = 0,
    rtol: float = 1e-9,
) -> dict:
    """Tabu search over single flips of ``p_bits [k, r]`` on the exact surrogate: each iteration moves to the best
    neighbour whose entry is not tabu (also when it is worse), then makes that entry tabu for ``tenure``
    iterations; a tabu move is allowed when it beats the best value so far (aspiration). Ties are broken at random
    (``seed``). Returns the best parity part seen, its surrogate, the start's, and the iteration it was reached.

    Unlike :func:`descend`, this leaves local minima: it is a discrete search of its own, reported apart from the
    gradient (and from the descent polish)."""
    if iterations < 0:
        raise ValueError(f"iterations must be >= 0, got {iterations}")
    if tenure < 0:
        raise ValueError(f"tenure must be >= 0, got {tenure}")
    p_bits, msgs, value_fn, start = _start(p_bits, max_message_weight, name, p, tau, distance)
    k, r = p_bits.shape
    rng = np.random.default_rng(seed)
    best, best_value, best_iteration = p_bits.copy(), start, 0
    free_at = np.zeros(k * r, np.int64)  # an entry is tabu while the iteration is below its free_at
    for it in range(1, iterations + 1):
        vals, _ = neighbour_values(p_bits, msgs, value_fn, pairs=False)
        better = vals < best_value - rtol * max(abs(best_value), 1.0)
        vals = np.where((free_at <= it) | better, vals, np.inf)
        if not np.isfinite(vals).any():
            continue  # every entry tabu: wait (only when tenure >= k r)
        ties = np.flatnonzero(vals <= vals.min() + rtol * max(abs(vals.min()), 1.0))
        a = int(rng.choice(ties))
        flat = p_bits.reshape(-1)
        flat[a] ^= 1
        p_bits = flat.reshape(k, r)
        free_at[a] = it + tenure + 1
        if better[a]:
            best, best_value, best_iteration = p_bits.copy(), float(vals[a]), it
    return {
        "p_bits": best,
        "surrogate_before": start,
        "surrogate_after": best_value,
        "best_iteration": best_iteration,
        "iterations": iterations,
    }


#: Largest ``k`` of a column move (a Walsh-Hadamard transform over all ``2^k`` columns, float64).
MAX_COLUMN_K = 22


def _message_terms(name: str, n: int, *, p: float, tau: float, distance: int) -> np.ndarray:
    """``g(w)``, ``w = 0..n + 1``: the surrogate ``name`` is a monotone function of ``sum_u g(w(u))``."""
    w = np.arange(n + 2)
    if name == "union":
        return np.concatenate([relaxed.pairwise_error(n, p), [1.0]])
    if name == "softmin":
        return np.exp(-w / tau)
    if name == "distance":
        return (w < distance).astype(np.float64)
    raise ValueError(f"surrogate must be one of {list(relaxed.SURROGATES)}, got {name!r}")


def _value_of_sum(name: str, total: np.ndarray, tau: float) -> np.ndarray:
    """The surrogate ``name`` as a function of ``S = sum_u g(w(u))`` (:func:`_message_terms`; as
    :func:`surrogate_values`)."""
    if name == "union":
        return np.log(total + 1e-30)
    if name == "softmin":
        return tau * np.log(total + 1e-300)
    return np.log(1e-3 + total)


def walsh_hadamard(a: np.ndarray) -> np.ndarray:
    """``out[v] = sum_u a[u] (-1)^popcount(u & v)`` for ``a`` of length ``2^k`` (float64)."""
    out = np.asarray(a, np.float64).copy()
    size, h = out.shape[0], 1
    if size & (size - 1):
        raise ValueError(f"walsh_hadamard needs a length that is a power of 2, got {size}")
    while h < size:
        view = out.reshape(size // (2 * h), 2, h)
        x = view[:, 0, :].copy()
        view[:, 0, :] += view[:, 1, :]
        view[:, 1, :] = x - view[:, 1, :]
        h *= 2
    return out


class _Columns:
    """The state of a column search: parity bits and codeword weights of the enumerated messages."""

    def __init__(self, p_bits, max_message_weight: int, name: str, p: float, tau: float, distance: int):
        k, r = np.shape(p_bits)
        if k > MAX_COLUMN_K:
            raise ValueError(f"column moves need k <= {MAX_COLUMN_K} (2^k candidate columns), got k={k}")
        self.k, self.r = k, r
        self.msgs = message_bits(k, max_message_weight).astype(np.int32)  # [M, k]
        self.index = self.msgs @ (1 << np.arange(k))  # message u as the integer sum_i u_i 2^i
        self.terms = _message_terms(name, k + r, p=p, tau=tau, distance=distance)
        self.value_fn = lambda spectra: surrogate_values(spectra, name, p=p, tau=tau, distance=distance)
        self.set_parity_part(p_bits)

    def value(self) -> float:
        spectrum_ = np.bincount(self.weights, minlength=self.k + self.r + 1).astype(np.float64)
        return float(self.value_fn(spectrum_[None])[0])

    def set_parity_part(self, p_bits: np.ndarray) -> None:
        self.p_bits = np.asarray(p_bits, np.uint8).copy()
        self.parity = (self.msgs @ self.p_bits.astype(np.int32)) % 2
        self.weights = self.msgs.sum(1) + self.parity.sum(1)

    def reframe(self, rng: np.random.Generator) -> np.ndarray:
        """The same code in another systematic frame: coordinates permuted at random, then brought to ``[I | P']``
        on the first information set of that order (the weight spectrum, hence the surrogate, is unchanged when
        every message is enumerated; the column moves then act on other coordinates). Returns the coordinate order:
        codeword ``c`` of the old generator is ``c[order]`` of the new one."""
        generator = np.concatenate([np.eye(self.k, dtype=np.uint8), self.p_bits], axis=1)
        shuffle = rng.permutation(self.k + self.r)
        g_sys, perm = gf2.systematic_form(generator[:, shuffle])
        self.set_parity_part(g_sys[:, self.k :])
        return shuffle[perm]

    def set_column(self, j: int, column: np.ndarray) -> None:
        self.weights = self.weights - self.parity[:, j]
        self.p_bits[:, j] = column
        self.parity[:, j] = (self.msgs @ column.astype(np.int32)) % 2
        self.weights = self.weights + self.parity[:, j]

    def column_sums(self, j: int) -> np.ndarray:
        """``S(v)`` for every column ``v`` in place of column ``j`` (``v`` as the integer ``sum_i v_i 2^i``)."""
        rest = self.weights - self.parity[:, j]
        base = self.terms[rest]
        change = np.zeros(1 << self.k)
        change[self.index] = self.terms[rest + 1] - base  # each message once
        odd = 0.5 * (change.sum() - walsh_hadamard(change))  # sum of the changes over messages with u . v odd
        return base.sum() + odd

    def best_column(self, j: int, rtol: float) -> np.ndarray | None:
        """The column ``j`` that minimises the surrogate given the others, or None when the current one does (up
        to ``rtol``)."""
        sums = self.column_sums(j)
        v = int(np.argmin(sums))
        current = int(self.p_bits[:, j].astype(np.int64) @ (1 << np.arange(self.k)))
        if not sums[v] < sums[current] * (1.0 - rtol):
            return None
        return ((v >> np.arange(self.k)) & 1).astype(np.uint8)

    def descend(self, rng: np.random.Generator | None, max_sweeps: int, rtol: float) -> int:
        """Column moves (each column to its exact optimum given the others, in a random order per sweep with
        ``rng``) until a sweep changes nothing: the number of columns changed."""
        changed = 0
        for _ in range(max_sweeps):
            moved = 0
            for j in rng.permutation(self.r) if rng is not None else range(self.r):
                column = self.best_column(int(j), rtol)
                if column is not None:
                    self.set_column(int(j), column)
                    moved += 1
            changed += moved
            if not moved:
                break
        return changed


def column_values(
    p_bits: np.ndarray, j: int, max_message_weight: int, name: str, *, p: float, tau: float, distance: int
) -> np.ndarray:
    """The surrogate of ``p_bits [k, r]`` with column ``j`` replaced by each of the ``2^k`` columns, ``[2^k]``
    (column ``v`` at index ``sum_i v_i 2^i``), by one Walsh-Hadamard transform (module docstring)."""
    state = _Columns(p_bits, max_message_weight, name, p, tau, distance)
    if not 0 <= j < state.r:
        raise ValueError(f"column j must be in [0, r={state.r}), got {j}")
    return _value_of_sum(name, state.column_sums(j), tau)


def column_descent(
    p_bits: np.ndarray,
    max_message_weight: int,
    name: str,
    *,
    p: float,
    tau: float,
    distance: int,
    max_sweeps: int = 100,
    rtol: float = 1e-12,
) -> dict:
    """Block-coordinate descent over the columns of ``p_bits [k, r]``: each column in turn set to the best of all
    ``2^k`` given the others (exactly, module docstring), until no column changes. A local minimum for every
    move that changes one column, so also for single flips. Returns the final parity part, the surrogate before
    and after, and the columns changed."""
    state = _Columns(p_bits, max_message_weight, name, p, tau, distance)
    start = state.value()
    changed = state.descend(None, max_sweeps, rtol)
    return {
        "p_bits": state.p_bits,
        "surrogate_before": start,
        "surrogate_after": state.value(),
        "columns_changed": changed,
    }


def column_search(
    p_bits: np.ndarray,
    max_message_weight: int,
    name: str,
    *,
    p: float,
    tau: float,
    distance: int,
    iterations: int,
    kick: int = 2,
    reframe: bool = False,
    seed: int = 0,
    max_sweeps: int = 100,
    rtol: float = 1e-12,
) -> dict:
    """Iterated column descent: descend from ``p_bits``; then ``iterations`` times replace ``kick`` random columns of
    the current code by uniformly random ones (with ``reframe``, after moving the code to a random systematic frame,
    ``_Columns.reframe``; only when every message is enumerated), descend, and keep the result when its surrogate
    is not higher (ties move along plateaus). Returns the best parity part (the current one), the surrogate at the
    start and at the end, the iteration where the final value was first reached, and the kicks accepted.

    A discrete search of its own (like :func:`tabu_search`), reported apart from the gradient."""
    if iterations < 0:
        raise ValueError(f"iterations must be >= 0, got {iterations}")
    state = _Columns(p_bits, max_message_weight, name, p, tau, distance)
    if not 1 <= kick <= state.r:
        raise ValueError(f"kick must be in [1, r={state.r}] (columns redrawn per iteration), got {kick}")
    if reframe and len(state.msgs) != (1 << state.k) - 1:
        raise ValueError(
            "reframe needs every message enumerated (max_message_weight = k): a frame change keeps the "
            "full weight spectrum, not that of the low-weight messages"
        )
    rng = np.random.default_rng(seed)
    start = state.value()
    state.descend(None, max_sweeps, rtol)  # the column descent; the kicks' descents go in a random column order
    value, best_iteration, accepted = state.value(), 0, 0
    for it in range(1, iterations + 1):
        saved = (state.p_bits.copy(), state.parity.copy(), state.weights.copy())
        if reframe:
            state.reframe(rng)
        for j in rng.choice(state.r, kick, replace=False):
            state.set_column(int(j), rng.integers(0, 2, state.k).astype(np.uint8))
        state.descend(rng, max_sweeps, rtol)
        new = state.value()
        if new <= value + rtol * max(abs(value), 1.0):
            if new < value - rtol * max(abs(value), 1.0):
                best_iteration = it
            value, accepted = new, accepted + 1
        else:
            state.p_bits, state.parity, state.weights = saved
    return {
        "p_bits": state.p_bits,
        "surrogate_before": start,
        "surrogate_after": value,
        "best_iteration": best_iteration,
        "iterations": iterations,
        "accepted": accepted,
    }
