"""Decoder likelihoods ``log p_dec(x | y)`` and per-example distortion metrics.

NECST (Choi et al. 2019, Sec. 3.1) uses two decoders on the decoder network's output
``f_theta(y)``; every decoder in :mod:`neuralcodes_jax.nets` returns the *pre-activation*
values and the link is applied here:

* Bernoulli, for binary data: ``x | y ~ Bern(sigmoid(f_theta(y)))``. Its negative
  log-likelihood is the sigmoid cross-entropy summed over the event, the reference's
  training loss for ``is_binary`` data. The formula is also used for x in [0, 1].
* Gaussian with fixed isotropic variance: ``x | y ~ N(sigmoid(f_theta(y)), sigma2 I)``,
  ``log p = -SSE / (2 sigma2) - D/2 log(2 pi sigma2)``. With ``sigma2 = 0.5`` the data term
  is exactly ``-SSE``, the reference's loss for grey and colour images (it has no 1/(2
  sigma2) factor). Since VIMCO exponentiates per-sample losses, the absolute scale matters.

Likelihoods reduce over the last ``event_ndim`` axes (``1`` for flat ``[..., D]`` data,
``len(output_shape)`` in general, e.g. 3 for ``[..., H, W, C]`` images) and keep every leading
(sample, batch) axis; ``x`` broadcasts against the outputs over those leading axes, e.g.
outputs ``[K, B, D]`` with data ``[B, D]``.

The metric helpers return one value per example (shape = the leading axes, e.g. ``[B]``),
so callers can average them; they give the candidate distortion units of the papers' tables:
per-pixel BCE in nats, per-pixel MSE of the sigmoid mean, per-image SSE, and the pixel error
rate of rounded outputs.
"""

from __future__ import annotations

import functools
import inspect
import math
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

__all__ = [
    "LIKELIHOODS",
    "bernoulli_log_prob",
    "decoder_mean",
    "gaussian_log_prob",
    "make_likelihood",
    "per_image_sse",
    "per_pixel_bce",
    "per_pixel_mse",
    "pixel_error_rate",
]


# ---------------------------------------------------------------------------------- helpers


def _check_event_ndim(event_ndim: Any) -> int:
    if isinstance(event_ndim, bool) or not isinstance(event_ndim, int) or event_ndim < 0:
        raise ValueError(f"event_ndim must be a non-negative int, got {event_ndim!r}")
    return event_ndim


def _check_sigma2(sigma2: Any) -> float:
    try:
        value = float(sigma2)
    except (TypeError, ValueError, jax.errors.ConcretizationTypeError):
        raise ValueError(f"sigma2 must be a positive finite Python float (static), got {sigma2!r}") from None
    if not (value > 0.0 and math.isfinite(value)):
        raise ValueError(f"sigma2 must be a positive finite float, got {sigma2!r}")
    return value


def _prepare(outputs: Any, x: Any, event_ndim: Any) -> tuple[jax.Array, jax.Array, int, int]:
    """Validate shapes; return float arrays, the static event size D and their new ``event_ndim``.

    The event axes are merged into one (a free reshape), so ``[K, B, 28, 28, 1]`` outputs become
    ``[K, B, 784]`` and the returned ``event_ndim`` is 1 (0 stays 0). Elementwise work then runs
    over a long, contiguous minor axis: XLA:CPU vectorises loops along the minor axis, and a
    trailing axis of size 1 (e.g. the channel axis of grey images) makes exp/log loops scalar and
    tens of times slower.
    """
    event_ndim = _check_event_ndim(event_ndim)
    outputs = jnp.asarray(outputs)
    if not jnp.issubdtype(outputs.dtype, jnp.floating):
        outputs = outputs.astype(jnp.float32)
    x = jnp.asarray(x).astype(outputs.dtype)
    if event_ndim > outputs.ndim or event_ndim > x.ndim:
        raise ValueError(f"event_ndim={event_ndim} exceeds the rank of outputs {outputs.shape} or x {x.shape}")
    out_event = outputs.shape[outputs.ndim - event_ndim :]
    x_event = x.shape[x.ndim - event_ndim :]
    if out_event != x_event:
        raise ValueError(
            f"event shapes differ: outputs {outputs.shape} and x {x.shape} must share their "
            f"last event_ndim={event_ndim} axes"
        )
    size = 1
    for d in out_event:
        size *= int(d)
    if event_ndim == 0:
        return outputs, x, size, 0
    outputs = outputs.reshape(outputs.shape[: outputs.ndim - event_ndim] + (size,))
    x = x.reshape(x.shape[: x.ndim - event_ndim] + (size,))
    return outputs, x, size, 1


def _sum_event(values: jax.Array, event_ndim: int) -> jax.Array:
    if event_ndim == 0:
        return values
    return jnp.sum(values, axis=tuple(range(values.ndim - event_ndim, values.ndim)))


def _mean_event(values: jax.Array, event_ndim: int) -> jax.Array:
    if event_ndim == 0:
        return values
    return jnp.mean(values, axis=tuple(range(values.ndim - event_ndim, values.ndim)))


def decoder_mean(outputs: jax.Array) -> jax.Array:
    """Mean of either decoder, ``sigmoid(outputs)`` (Bernoulli probability / Gaussian mean)."""
    return jax.nn.sigmoid(outputs)


# ------------------------------------------------------------------------------ likelihoods


def bernoulli_log_prob(logits: jax.Array, x: jax.Array, event_ndim: int = 1) -> jax.Array:
    """``log Bern(x; sigmoid(logits))`` summed over the last ``event_ndim`` axes.

    Equals ``-(x softplus(-l) + (1 - x) softplus(l))``, computed with one ``exp`` and one
    ``log1p`` per element through ``softplus(+-l) = max(+-l, 0) + log1p(exp(-|l|))``:

        log p = -(log1p(exp(-|l|)) + (1 - x) l)   for l >= 0,
        log p = -(log1p(exp(-|l|)) - x l)         for l < 0.

    Both terms are non-negative for x in [0, 1], so nothing cancels: the result stays finite
    and exact for extreme logits (``|l|`` of 50 and beyond) where ``log(sigmoid(l))`` would
    underflow (the shorter ``x l - softplus(l)`` would round ``log sigmoid(50)`` to 0). Both
    branches select on the same ``l >= 0`` test, so the gradient is ``x - sigmoid(l)`` for
    every ``l``, 0 included. For x in [0, 1] it is minus the sigmoid cross-entropy (the
    reference's BCE loss).

    Args:
      logits: decoder outputs ``[..., *event]``.
      x: data ``[..., *event]``, broadcastable against ``logits`` over the leading axes.
      event_ndim: number of trailing event axes to sum over.

    Returns:
      log-probabilities with the broadcast leading shape, e.g. ``[K, B]``.
    """
    logits, x, _, event_ndim = _prepare(logits, x, event_ndim)
    pos = logits >= 0.0
    log1p_exp = jnp.log1p(jnp.exp(jnp.where(pos, -logits, logits)))  # log1p(exp(-|l|))
    ll = -(log1p_exp + jnp.where(pos, (1.0 - x) * logits, -x * logits))
    return _sum_event(ll, event_ndim)


def gaussian_log_prob(
    pre: jax.Array, x: jax.Array, sigma2: float = 0.5, include_constant: bool = True, event_ndim: int = 1
) -> jax.Array:
    """``log N(x; sigmoid(pre), sigma2 I)`` over the last ``event_ndim`` axes.

    Equals ``-SSE / (2 sigma2) - D/2 log(2 pi sigma2)`` with ``SSE = sum (x - sigmoid(pre))^2``
    and D the event size (NECST Sec. 3.1, fixed isotropic covariance). With the default
    ``sigma2 = 0.5`` and ``include_constant=False`` this is exactly ``-SSE``, the reference's
    per-image loss.

    Args:
      pre: decoder outputs (pre-sigmoid) ``[..., *event]``.
      x: data ``[..., *event]``, broadcastable against ``pre`` over the leading axes.
      sigma2: fixed per-pixel variance, a positive Python float.
      include_constant: add the normalising constant ``-D/2 log(2 pi sigma2)``.
      event_ndim: number of trailing event axes to sum over.
    """
    sigma2 = _check_sigma2(sigma2)
    pre, x, size, event_ndim = _prepare(pre, x, event_ndim)
    sse = _sum_event(jnp.square(x - jax.nn.sigmoid(pre)), event_ndim)
    out = -sse / (2.0 * sigma2)
    if include_constant:
        out = out - 0.5 * size * math.log(2.0 * math.pi * sigma2)
    return out


#: Likelihood functions by name; each is ``fn(outputs, x, **options) -> log p [leading]``.
LIKELIHOODS: dict[str, Callable[..., jax.Array]] = {"bernoulli": bernoulli_log_prob, "gaussian": gaussian_log_prob}


def make_likelihood(kind: str, **kw: Any) -> Callable[[jax.Array, jax.Array], jax.Array]:
    """Return ``log_prob(outputs, x)`` for ``kind`` in :data:`LIKELIHOODS` with options bound.

    Options: ``event_ndim`` for both; ``sigma2`` and ``include_constant`` for ``'gaussian'``.
    Option values are validated here, so a bad config fails before tracing.
    """
    if not isinstance(kind, str) or kind not in LIKELIHOODS:
        raise ValueError(f"likelihood kind must be one of {sorted(LIKELIHOODS)}, got {kind!r}")
    fn = LIKELIHOODS[kind]
    allowed = sorted(list(inspect.signature(fn).parameters)[2:])
    unknown = sorted(set(kw) - set(allowed))
    if unknown:
        raise ValueError(f"unknown option(s) {unknown} for likelihood {kind!r}; allowed: {allowed}")
    if "event_ndim" in kw:
        _check_event_ndim(kw["event_ndim"])
    if "sigma2" in kw:
        kw["sigma2"] = _check_sigma2(kw["sigma2"])
    if "include_constant" in kw and not isinstance(kw["include_constant"], bool):
        raise ValueError(f"include_constant must be a bool, got {kw['include_constant']!r}")
    return functools.partial(fn, **kw)


# ---------------------------------------------------------------------------------- metrics


def per_pixel_bce(logits: jax.Array, x: jax.Array, event_ndim: int = 1) -> jax.Array:
    """Mean per-pixel sigmoid cross-entropy in nats, one value per example.

    ``-bernoulli_log_prob / D``: the released NECST/IABF test metric for binary data (valid
    for any x in [0, 1]).
    """
    logits, x, size, event_ndim = _prepare(logits, x, event_ndim)
    return -bernoulli_log_prob(logits, x, event_ndim) / size


def per_pixel_mse(logits: jax.Array, x: jax.Array, event_ndim: int = 1) -> jax.Array:
    """Mean over pixels of ``(sigmoid(logits) - x)^2``, one value per example."""
    logits, x, _, event_ndim = _prepare(logits, x, event_ndim)
    return _mean_event(jnp.square(x - jax.nn.sigmoid(logits)), event_ndim)


def per_image_sse(logits: jax.Array, x: jax.Array, event_ndim: int = 1) -> jax.Array:
    """Sum over pixels of ``(sigmoid(logits) - x)^2``, one value per example.

    The reference's test metric for non-binary data (grey and colour images in [0, 1]).
    """
    logits, x, _, event_ndim = _prepare(logits, x, event_ndim)
    return _sum_event(jnp.square(x - jax.nn.sigmoid(logits)), event_ndim)


def pixel_error_rate(logits: jax.Array, x: jax.Array, event_ndim: int = 1) -> jax.Array:
    """Fraction of pixels with ``round(sigmoid(logits)) != round(x)``, one value per example.

    ``round`` is round-half-to-even, so 0.5 rounds to 0 on both sides.
    """
    logits, x, _, event_ndim = _prepare(logits, x, event_ndim)
    wrong = jnp.round(jax.nn.sigmoid(logits)) != jnp.round(x)
    return _mean_event(wrong.astype(logits.dtype), event_ndim)
