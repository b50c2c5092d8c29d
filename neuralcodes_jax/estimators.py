"""Multi-sample gradient estimators for discrete latent codes (VIMCO and comparisons).

All estimators take per-sample values with a leading sample axis ``K`` and any batch axes ``[...]``,
and return ``(objective, surrogate)``:

* ``objective`` ``[...]``: the value of the estimator's objective for these samples (gradient-free;
  use it as a metric);
* ``surrogate`` ``[...]``: a scalar-per-example function with the *same value* as ``objective`` whose
  gradient (w.r.t. everything ``f`` and ``log_q`` depend on) is the estimator. Ascend it to maximise
  the objective (or descend it when the objective is a loss, as in :func:`vimco_reference`).

Inputs: ``f`` ``[K, ...]`` are per-sample values ``log f_k`` (differentiable w.r.t. decoder parameters);
``log_q`` ``[K, ...]`` are the log-probabilities of the samples under the sampling distribution
(differentiable w.r.t. the encoder parameters; the samples themselves are discrete and carry no
gradient). ``K`` is a static shape, so everything is jit/vmap friendly.

Estimators (all unbiased for the gradient of their own objective; ``tests/test_estimators.py``
checks this exactly by enumeration):

* :func:`vimco`: VIMCO (Mnih & Rezende 2016) for the multi-sample objective
  ``E[log (1/K) sum_k exp f_k]`` (their Eq. 2/3; NECST Eq. 6 with ``f_k = log p_dec(x|y_k)``).
* :func:`vimco_reference`: what the public NECST/IABF code runs: VIMCO applied to the per-sample
  *losses* ``l_k = -log p_dec(x|y_k)``, minimising ``E[log (1/K) sum_k exp l_k]``. Not a sign flip of
  NECST Eq. 6 but a different objective; see its docstring.
* :func:`score_function`: REINFORCE with the leave-one-out mean baseline for ``E[mean_k f_k]``.

:data:`ESTIMATORS` maps names to adapters ``(log_lik, log_q) -> (loss_to_minimise, objective)``, used
through :func:`multi_sample_loss` so that training code is estimator-agnostic.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import jax
import jax.numpy as jnp
from jax import lax

Array = jax.Array

__all__ = [
    "vimco",
    "vimco_reference",
    "score_function",
    "leave_one_out_log_mean_exp",
    "ESTIMATORS",
    "multi_sample_loss",
]


def _check_inputs(f: Array, log_q: Array, what: str) -> tuple[Array, Array, int]:
    f = jnp.asarray(f)
    log_q = jnp.asarray(log_q)
    if f.ndim < 1:
        raise ValueError(f"{what}: f must have a leading sample axis [K, ...], got shape {f.shape}")
    if f.shape != log_q.shape:
        raise ValueError(f"{what}: f and log_q must have the same shape [K, ...], got {f.shape} and {log_q.shape}")
    num_samples = f.shape[0]
    if num_samples < 2:
        raise ValueError(f"{what}: the number of samples K (leading axis) must be >= 2, got K={num_samples}")
    return f, log_q, num_samples


def _others_mask(num_samples: int, ndim: int) -> Array:
    """Boolean ``[K, K, 1, ...]`` with ``mask[k, j] = (j != k)``, broadcastable over batch axes."""
    mask = ~jnp.eye(num_samples, dtype=bool)
    return mask.reshape((num_samples, num_samples) + (1,) * (ndim - 1))


def _mean_of_others(f: Array) -> Array:
    """``mean_{j != k} f_j`` for each ``k``, ``[K, ...]``; computed without ``f_k`` (no rounding leak)."""
    num_samples = f.shape[0]
    others = _others_mask(num_samples, f.ndim)
    return jnp.sum(jnp.where(others, f[None], 0.0), axis=1) / (num_samples - 1)


def leave_one_out_log_mean_exp(f: Array) -> Array:
    """VIMCO baselines ``L_{-k}``: ``log mean exp`` of ``f`` with ``f_k`` replaced by ``mean_{j != k} f_j``.

    The replacement is the geometric-mean control variate of Mnih & Rezende (2016), Eq. 8-10 (in log
    space, the arithmetic mean of the other ``log f_j``), so ``L_{-k}`` does not depend on sample ``k``.
    Builds a ``[K, K, ...]`` matrix and reduces it with ``logsumexp`` (stable; ``K`` is small).

    Args:
      f: ``[K, ...]`` with ``K >= 2``.

    Returns:
      ``[K, ...]``.
    """
    f = jnp.asarray(f)
    num_samples = f.shape[0]
    if num_samples < 2:
        raise ValueError(f"leave_one_out_log_mean_exp: K (leading axis) must be >= 2, got K={num_samples}")
    others = _others_mask(num_samples, f.ndim)
    replaced = jnp.where(others, f[None], _mean_of_others(f)[:, None])  # [K (left out), K, ...]
    return jax.nn.logsumexp(replaced, axis=1) - math.log(num_samples)


def vimco(f: Array, log_q: Array) -> tuple[Array, Array]:
    """VIMCO (Mnih & Rezende 2016) for ``L = log (1/K) sum_k exp f_k`` (their Eq. 2/3; NECST Eq. 6).

    Gradient of ``surrogate`` (an unbiased estimate of ``grad E_{y^{1:K} ~ q}[L]``):
    ``sum_k w_k grad f_k + sum_k stop_grad(L - L_{-k}) grad log q_k`` with ``w = softmax_k(f)``
    (stop-gradient) and the leave-one-out baselines ``L_{-k}`` of :func:`leave_one_out_log_mean_exp`.
    For NECST, ``f_k = log p_dec(x|y_k)`` and the loss to minimise is ``-surrogate``.

    Args:
      f: ``[K, ...]`` per-sample ``log f_k``, ``K >= 2``.
      log_q: ``[K, ...]`` log-probabilities of the samples under the sampling distribution.

    Returns:
      ``(objective, surrogate)``, each ``[...]``; ``objective`` is gradient-free, ``surrogate`` has the
      same value.

    Raises:
      ValueError: ``K < 2`` or mismatched shapes.
    """
    f, log_q, num_samples = _check_inputs(f, log_q, "vimco")
    f_sg = lax.stop_gradient(f)
    log_q_sg = lax.stop_gradient(log_q)
    objective = jax.nn.logsumexp(f_sg, axis=0) - math.log(num_samples)
    weights = jax.nn.softmax(f_sg, axis=0)
    signal = objective[None] - leave_one_out_log_mean_exp(f_sg)
    surrogate = objective + jnp.sum(weights * (f - f_sg), axis=0) + jnp.sum(signal * (log_q - log_q_sg), axis=0)
    return objective, surrogate


def vimco_reference(loss: Array, log_q: Array) -> tuple[Array, Array]:
    """VIMCO as run by the public NECST/IABF code: applied to per-sample *losses*; minimise ``surrogate``.

    With ``l_k = -log p_dec(x|y_k)`` this is ``vimco(f=l, log_q)``: ``objective = log (1/K) sum_k exp l_k``
    is to be **minimised** (descend ``surrogate``), with decoder weights ``softmax_k(+l)`` (the *worst*
    samples get the most weight) and encoder signals ``L - L_{-k}`` computed on the losses.

    How it differs from NECST Eq. 6: minimising ``E[log mean_k exp(-log p_k)] = E[log mean_k 1/p_k]``
    is maximising ``E[log HM_k(p_k)]``, the log *harmonic* mean of the likelihoods, which lies below
    ``E[mean_k log p_k]`` (the single-sample objective), which lies below Eq. 6's ``E[log mean_k p_k]``.
    The three coincide at ``K = 1``; for ``K > 1`` the reference optimises a looser, pessimistic bound
    and its decoder gradient concentrates on the worst sample instead of the best. The gradient is
    unbiased for that objective. (For the SSE losses of real-valued data, ``l_k`` is ``-log p_k`` of a
    Gaussian with variance 1/2 up to an additive constant, which does not change the gradient.)

    Args:
      loss: ``[K, ...]`` per-sample losses, ``K >= 2``.
      log_q: ``[K, ...]`` log-probabilities of the samples.

    Returns:
      ``(objective, surrogate)`` as in :func:`vimco`; ``objective`` is a loss (lower is better).
    """
    loss, log_q, _ = _check_inputs(loss, log_q, "vimco_reference")
    return vimco(loss, log_q)


def score_function(f: Array, log_q: Array) -> tuple[Array, Array]:
    """REINFORCE with the leave-one-out mean baseline for the single-sample objective ``mean_k f_k``.

    Gradient of ``surrogate``:
    ``(1/K) sum_k [grad f_k + stop_grad(f_k - mean_{j != k} f_j) grad log q_k]``, unbiased because the
    baseline of sample ``k`` does not depend on sample ``k``.

    Args:
      f: ``[K, ...]`` per-sample values, ``K >= 2``.
      log_q: ``[K, ...]`` log-probabilities of the samples.

    Returns:
      ``(objective, surrogate)``, each ``[...]``.
    """
    f, log_q, _ = _check_inputs(f, log_q, "score_function")
    f_sg = lax.stop_gradient(f)
    log_q_sg = lax.stop_gradient(log_q)
    objective = jnp.mean(f_sg, axis=0)
    signal = f_sg - _mean_of_others(f_sg)
    surrogate = objective + jnp.mean(f - f_sg, axis=0) + jnp.mean(signal * (log_q - log_q_sg), axis=0)
    return objective, surrogate


# ----------------------------------------------------------------------------------------------------------
# Estimator-agnostic interface.


def _vimco_loss(log_lik: Array, log_q: Array) -> tuple[Array, Array]:
    objective, surrogate = vimco(log_lik, log_q)
    return -surrogate, objective


def _vimco_reference_loss(log_lik: Array, log_q: Array) -> tuple[Array, Array]:
    loss_objective, surrogate = vimco_reference(-jnp.asarray(log_lik), log_q)
    return surrogate, -loss_objective


def _reinforce_loo_loss(log_lik: Array, log_q: Array) -> tuple[Array, Array]:
    objective, surrogate = score_function(log_lik, log_q)
    return -surrogate, objective


ESTIMATORS: dict[str, Callable[[Array, Array], tuple[Array, Array]]] = {
    "vimco": _vimco_loss,
    "vimco_reference": _vimco_reference_loss,
    "reinforce_loo": _reinforce_loo_loss,
}
"""Name -> ``(log_lik [K, ...], log_q [K, ...]) -> (loss_to_minimise [...], objective [...])``.

``objective`` is always the quantity being *maximised*, in nats, and ``loss_to_minimise`` equals
``-objective`` in value:

* ``'vimco'``: ``log mean_k p(x|y_k)`` (NECST Eq. 6, the paper);
* ``'vimco_reference'``: ``-log mean_k exp(-log p(x|y_k))`` = log harmonic mean of ``p(x|y_k)`` (the
  public code's objective, see :func:`vimco_reference`);
* ``'reinforce_loo'``: ``mean_k log p(x|y_k)``.

A new estimator is one function with this signature added to the dict.
"""


def multi_sample_loss(name: str, log_lik: Array, log_q: Array) -> tuple[Array, Array]:
    """Loss to minimise and objective value for the named estimator.

    Args:
      name: a key of :data:`ESTIMATORS` (static).
      log_lik: ``[K, ...]`` log-likelihoods ``log p_dec(x|y_k)`` (differentiable w.r.t. the decoder).
      log_q: ``[K, ...]`` ``log q(y_k|x)`` of the drawn samples (differentiable w.r.t. the encoder).

    Returns:
      ``(loss_to_minimise [...], objective [...])``; average ``loss_to_minimise`` over the batch and
      differentiate. ``objective`` (gradient-free) is the maximised quantity described in
      :data:`ESTIMATORS`.

    Raises:
      ValueError: unknown ``name`` (the message lists the allowed names), ``K < 2``, mismatched shapes.
    """
    if name not in ESTIMATORS:
        raise ValueError(f"estimator must be one of {sorted(ESTIMATORS)}, got {name!r}")
    return ESTIMATORS[name](log_lik, log_q)
