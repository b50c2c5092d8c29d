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
"""

from __future__ import annotations

import itertools

import numpy as np

from neuralcodes_jax.codes import relaxed


def message_bits(k: int, max_message_weight: int) -> np.ndarray:
    """The enumerated nonzero messages (weight ``<= max_message_weight``), ``uint8 [M, k]``."""
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
