"""Relaxed systematic linear codes: a generator ``G = [I_k | P]`` whose parity part ``P`` has independent entries
``P_ij ~ Bernoulli(pi_ij)``, ``pi = sigmoid(theta)``, and exact expectations of the code's quality under it.

* **Relaxed XOR.** Parity bit ``j`` of message ``u`` is ``XOR_{i: u_i = 1} P_ij``. For independent entries
  ``P(XOR = 1) = (1 - prod_i (1 - 2 pi_ij)) / 2`` exactly (piling-up lemma); in logits this is the tanh rule of a
  belief-propagation check node, ``logit q = -2 artanh(prod_i -tanh(theta_ij / 2))``
  (:func:`relaxed_xor`, :func:`xor_logits`). At a binary ``pi`` it is the XOR itself, and ``q > 1/2`` iff the XOR
  of the rounded entries is 1, so thresholding the relaxed codebook gives the rounded linear code.
* **Expected weight spectrum.** Codeword ``u G`` has weight ``wt(u) + sum_j b_j`` with independent parity bits
  ``b_j ~ Bernoulli(q_j(u))`` given ``u``: a Poisson-binomial law. Summing it over nonzero messages gives
  ``E[A_w]``, the expected number of codewords of weight ``w`` (:func:`expected_spectrum`), exact because it is
  linear in the codeword indicators. It is multilinear in ``pi``, so its minima over the cube are at binary
  ``P``, where it is the code's weight enumerator.
* **Surrogates of the code's quality** (functions of ``E[A]``; lower is better; :data:`SURROGATES`):

  - ``"union"``: ``log sum_w E[A_w] P_2(w, p)``, the union bound on the ML block error probability on the BSC(p)
    (``P_2``: the pairwise error probability of two words at distance ``w``, ties halved; :func:`pairwise_error`);
  - ``"softmin"``: ``tau log sum_w E[A_w] exp(-w / tau)``, minus a soft minimum of the codeword weights
    (the Bhattacharyya union bound when ``exp(-1/tau) = 2 sqrt(p (1-p))``);
  - ``"distance"``: ``log(eps + sum_{w < d} E[A_w])``, the expected number of nonzero codewords lighter than the
    target distance ``d``.

Messages are either all ``2^k - 1`` nonzero ones or those of weight at most ``max_message_weight`` (a codeword of
weight ``w`` has a message of weight ``<= w``, so the ``"distance"`` surrogate is exact with
``max_message_weight = d - 1``); at most :data:`MAX_MESSAGES` either way.
"""

from __future__ import annotations

import functools
import itertools
import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

SURROGATES = ("union", "softmin", "distance")
#: Largest number of messages a surrogate enumerates per step.
MAX_MESSAGES = 1 << 16
#: Logit magnitude of the systematic (message) bits of a relaxed codeword: sigmoid(12) = 1 - 6e-6.
SYSTEMATIC_LOGIT = 12.0
_XOR_CLIP = 1.0 - 1e-6


def relaxed_xor(probs: jax.Array, axis: int = -1) -> jax.Array:
    """``P(XOR of independent Bernoulli(probs) = 1) = (1 - prod (1 - 2 probs)) / 2`` along ``axis``."""
    return 0.5 * (1.0 - jnp.prod(1.0 - 2.0 * probs, axis=axis))


def xor_logits(theta: jax.Array, bits: jax.Array) -> jax.Array:
    """Logits of the relaxed parity bits of messages ``bits [..., k]`` (0/1) for entry logits ``theta [k, r]``:
    ``[..., r]`` (the tanh rule; an empty message gives parity 0, logit ``-2 artanh(1)`` clipped)."""
    x = -jnp.tanh(0.5 * theta)  # 1 - 2 pi
    u = jnp.asarray(bits, theta.dtype)[..., :, None]  # [..., k, 1]
    prod = jnp.prod(1.0 - u * (1.0 - x), axis=-2)  # prod over the message's support
    return -2.0 * jnp.arctanh(jnp.clip(prod, -_XOR_CLIP, _XOR_CLIP))


def message_count(k: int, max_message_weight: int) -> int:
    """Number of nonzero messages of weight ``<= max_message_weight``."""
    return sum(math.comb(k, w) for w in range(1, max_message_weight + 1))


def check_messages(k: int, max_message_weight: int, field: str = "surrogate.max_message_weight") -> int:
    """The effective weight limit (``0`` means ``k``), with a clear error above :data:`MAX_MESSAGES` messages."""
    w = k if max_message_weight in (0, None) else int(max_message_weight)
    if not 1 <= w <= k:
        raise ValueError(f"{field} must be 0 (all messages) or in [1, k={k}], got {max_message_weight!r}")
    count = message_count(k, w)
    if count > MAX_MESSAGES:
        raise ValueError(
            f"{field}={max_message_weight!r} gives {count} messages for k={k}; the surrogates "
            f"enumerate at most {MAX_MESSAGES} (2^16): lower {field}"
        )
    return w


@functools.cache
def message_supports(k: int, max_message_weight: int) -> tuple[np.ndarray, np.ndarray]:
    """Supports of the nonzero messages of weight ``<= max_message_weight`` (``int32 [M, w_max]`` padded with
    ``k``) and their weights ``int32 [M]``."""
    rows = [
        c + (k,) * (max_message_weight - len(c))
        for w in range(1, max_message_weight + 1)
        for c in itertools.combinations(range(k), w)
    ]
    supports = np.asarray(rows, dtype=np.int32).reshape(-1, max_message_weight)
    weights = (supports < k).sum(axis=1).astype(np.int32)
    return supports, weights


def parity_probabilities(theta: jax.Array, max_message_weight: int) -> tuple[jax.Array, np.ndarray]:
    """Relaxed parity probabilities ``q [M, r]`` of the enumerated messages and their weights ``[M]``.

    All messages (``max_message_weight = k``) are built by doubling; fewer as a product over dense 0/1 messages.
    """
    k, r = theta.shape
    x = -jnp.tanh(0.5 * theta)  # 1 - 2 pi, [k, r]
    if max_message_weight >= k:
        prods = jnp.ones((1, r), theta.dtype)
        weights = np.zeros(1, np.int32)
        for i in reversed(range(k)):  # row 0 ends up the most significant bit
            prods = jnp.concatenate([prods, prods * x[i]], axis=0)
            weights = np.concatenate([weights, weights + 1])
        prods, weights = prods[1:], weights[1:]  # drop the zero message
    else:
        # Dense 0/1 messages U [M, k]: prod_i x_i^u_i = sign * exp(U @ log|x|), a matmul (a gather's gradient is a
        # scatter and reduce_prod's is slow on XLA:CPU). The sign is piecewise constant (no gradient).
        supports, weights = message_supports(k, max_message_weight)
        bits = np.zeros((supports.shape[0], k + 1), np.float32)
        np.put_along_axis(bits, supports, 1.0, axis=1)
        u = jnp.asarray(bits[:, :k], theta.dtype)
        log_abs = jnp.log(jnp.maximum(jnp.abs(x), 1e-30))
        negatives = jax.lax.stop_gradient(u @ (x < 0).astype(theta.dtype))
        sign = 1.0 - 2.0 * jnp.mod(negatives, 2.0)
        prods = sign * jnp.exp(u @ log_abs)
    return 0.5 * (1.0 - prods), weights


def poisson_binomial(q: jax.Array) -> jax.Array:
    """``pmf[m, b]`` = P(sum of independent Bernoulli(q[m, j]) = b), ``[M, r + 1]`` for ``q [M, r]``.

    The recursion runs on rows ``[M]`` (messages on the minor axis, which XLA:CPU vectorizes).
    """
    r = q.shape[-1]
    cols = q.T
    rows = [jnp.ones_like(cols[0])]
    for j in range(r):
        qj = cols[j]
        nxt = [rows[0] * (1.0 - qj)]
        nxt += [rows[b] * (1.0 - qj) + rows[b - 1] * qj for b in range(1, j + 1)]
        nxt.append(rows[j] * qj)
        rows = nxt
    return jnp.stack(rows, axis=-1)


def expected_spectrum(theta: jax.Array, max_message_weight: int | None = None) -> jax.Array:
    """``E[A_w]``, ``w = 0..n``, over the enumerated nonzero messages (``A_0 = 0``), entry logits ``theta [k, r]``."""
    k, r = theta.shape
    n = k + r
    q, weights = parity_probabilities(theta, k if max_message_weight is None else max_message_weight)
    pmf = poisson_binomial(q)  # [M, r + 1]
    by_weight = jax.nn.one_hot(weights, k + 1, dtype=q.dtype).T @ pmf  # [k + 1, r + 1]
    spread = np.zeros((k + 1, r + 1, n + 1), np.float32)
    for a in range(k + 1):
        for b in range(r + 1):
            spread[a, b, a + b] = 1.0
    return jnp.einsum("ab,abw->w", by_weight, spread)


def pairwise_error(n: int, p: float) -> np.ndarray:
    """``P_2(w, p)`` for ``w = 0..n``: the probability that ML decoding on the BSC(p) prefers a word at distance
    ``w`` to the sent one (more than ``w/2`` of the ``w`` positions flipped; exactly half counts 1/2)."""
    out = np.zeros(n + 1)
    for w in range(1, n + 1):
        for j in range(w // 2 + 1, w + 1):
            out[w] += math.comb(w, j) * p**j * (1 - p) ** (w - j)
        if w % 2 == 0:
            out[w] += 0.5 * math.comb(w, w // 2) * (p * (1 - p)) ** (w // 2)
    return out


def surrogate_loss(
    spectrum: jax.Array, name: str, *, p: float = 0.05, tau: float = 1.0, distance: int = 3
) -> jax.Array:
    """The surrogate ``name`` (:data:`SURROGATES`) of an (expected) weight spectrum ``[n + 1]``."""
    n = spectrum.shape[-1] - 1
    w = np.arange(n + 1)
    if name == "union":
        return jnp.log(jnp.sum(spectrum * jnp.asarray(pairwise_error(n, p), spectrum.dtype)) + 1e-30)
    if name == "softmin":
        return tau * jnp.log(jnp.sum(spectrum[1:] * jnp.exp(-w[1:] / tau)) + 1e-30)
    if name == "distance":
        return jnp.log(1e-3 + jnp.sum(spectrum[1:distance]))
    raise ValueError(f"surrogate must be one of {list(SURROGATES)}, got {name!r}")


def generator_from_logits(theta: Any) -> np.ndarray:
    """The binarized systematic generator ``[I_k | 1[theta > 0]]``, ``uint8 [k, n]``."""
    theta = np.asarray(theta)
    k = theta.shape[0]
    return np.concatenate([np.eye(k, dtype=np.uint8), (theta > 0).astype(np.uint8)], axis=1)
