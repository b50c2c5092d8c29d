"""Binary channels: plain channel operations, channel-collapsed noisy encoders, LLRs and capacities.

Everything is a pure function of arrays (jit/vmap friendly) except the build-time validation helpers.

Conventions:

* Bits are 0/1. Probabilities refer to bit value 1: encoder logits ``a`` give ``p = sigmoid(a) = P(y_hat = 1 | x)``
  (NECST sec. 3.1).
* Channel outputs are integer symbols: BSC ``{0, 1}``; BEC ``{0, 1, 2}`` with ``2`` = erasure (the "?" of NECST
  sec. 3.1).
* AWGN uses BPSK ``0 -> +1, 1 -> -1``, so ``LLR = log P(b=0|r) / P(b=1|r) = 2 r / sigma^2`` is positive for a 0, as
  in :func:`bsc_llr`; encoder *logits* have the opposite orientation (log-odds of a 1).
* BEC symbols as decoder input (:meth:`BEC.decoder_input`): ``'signed'`` (default) ``0 -> -1, 1 -> +1, erased -> 0``,
  the sign of the bit-1 log-odds (minus the sign of the channel LLR), so an erasure carries no evidence;
  ``'reference'`` the raw symbols ``{0., 1., 2.}``, as the public NECST code feeds them.

Noisy encoder (NECST sec. 4): ``q_noisy(y|x) = sum_{y_hat} q_enc(y_hat|x) p_channel(y|y_hat)``; for the BSC
``q = P(y=1) = p (1 - 2 eps) + eps``, for the BEC a 3-way categorical ``((1-eps)(1-p), (1-eps) p, eps)``; computed
in log space (``logaddexp``), stable for ``|logits|`` of 100 and ``eps = 0``.

:class:`BinaryInputChannel` is a frozen, hashable dataclass (static argument or closure under ``jax.jit``) with
``sample``, ``log_prob``, ``decoder_input``, ``sample_hard``, ``noisy`` and ``capacity``, built by name with
:func:`make_channel`. To add a channel (e.g. a Z-channel), subclass it as a frozen dataclass with ``name``,
``num_symbols``, the ``eps`` range and ``transition_matrix()`` (``P(y|y_hat)``, ``[2, num_symbols]``), and decorate
it with :func:`register_channel`; log-probabilities, sampling, hard-bit transmission and capacity
(:func:`binary_input_capacity`) follow from the matrix. Override ``symbol_log_probs``, ``decoder_input`` or
``capacity`` for closed forms.
"""

from __future__ import annotations

import abc
import copy
import dataclasses
import math
import numbers
from typing import Any, ClassVar

import jax
import jax.numpy as jnp
import numpy as np
from scipy import special

from neuralcodes_jax.config_utils import check_probability

Array = jax.Array

__all__ = [
    "bsc",
    "bec",
    "awgn_bpsk",
    "awgn_llr",
    "bsc_llr",
    "ebn0_db_to_sigma",
    "esn0_db_to_sigma",
    "sigma_to_ebn0_db",
    "sigma_to_esn0_db",
    "check_sigma",
    "bsc_noisy_log_probs",
    "bsc_noisy_logits",
    "bec_noisy_log_probs",
    "bec_to_signed",
    "bec_to_reference",
    "ERASURE",
    "ERASURE_INPUTS",
    "binary_entropy",
    "bsc_capacity",
    "bec_capacity",
    "binary_input_capacity",
    "BinaryInputChannel",
    "BSC",
    "BEC",
    "CHANNELS",
    "register_channel",
    "make_channel",
]

ERASURE = 2
"""The BEC symbol for an erased bit."""

ERASURE_INPUTS = ("signed", "reference")
"""Allowed values of ``erasure_input`` (how the decoder sees BEC symbols)."""


# ----------------------------------------------------------------------------------------------------------
# Validation helpers (build time, Python numbers).


def _as_real(name: str, value: Any) -> float:
    """``value`` as a Python float, or ValueError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, np.ndarray, np.generic)):
        raise ValueError(f"{name} must be a real number, got {value!r}")
    arr = np.asarray(value)
    if arr.shape != () or arr.dtype.kind not in "iuf":
        raise ValueError(f"{name} must be a real scalar, got {value!r}")
    out = float(arr)
    if math.isnan(out):
        raise ValueError(f"{name} must be a real number, got nan")
    return out


def _check_positive(name: str, value: Any) -> float:
    out = _as_real(name, value)
    if not out > 0.0 or math.isinf(out):
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return out


def _is_concrete_number(value: Any) -> bool:
    """True for Python/NumPy scalars, which can be validated; JAX arrays (maybe traced) are not checked."""
    return isinstance(value, (numbers.Real, np.generic)) and not isinstance(value, bool)


def _maybe_check_prob(name: str, value: Any, hi: float, hi_inclusive: bool = True) -> None:
    if _is_concrete_number(value):
        check_probability(name, value, hi, hi_open=not hi_inclusive)


def _check_num_samples(num_samples: Any) -> int:
    if isinstance(num_samples, bool) or not isinstance(num_samples, (int, np.integer)) or num_samples < 1:
        raise ValueError(f"num_samples must be a Python int >= 1, got {num_samples!r}")
    return int(num_samples)


def _float_dtype(x: Array) -> Any:
    """``x``'s dtype if floating, else JAX's default float dtype (float32 unless x64 is enabled)."""
    if jnp.issubdtype(x.dtype, jnp.floating):
        return x.dtype
    return jnp.result_type(float)


# ----------------------------------------------------------------------------------------------------------
# Plain channels acting on bits.


def bsc(key: Array, bits: Array, eps: Any) -> Array:
    """Binary symmetric channel: flips each bit independently with probability ``eps``.

    ``bits``: 0/1, any shape, integer, float or bool dtype; ``eps`` in [0, 0.5], validated if a Python number.
    Returns the received bits, shape and dtype of ``bits``.
    """
    _maybe_check_prob("eps", eps, 0.5)
    bits = jnp.asarray(bits)
    flip = jax.random.bernoulli(key, eps, bits.shape)
    if bits.dtype == jnp.bool_:
        return jnp.logical_xor(bits, flip)
    return jnp.where(flip, 1 - bits, bits)


def bec(key: Array, bits: Array, eps: Any) -> Array:
    """Binary erasure channel: erases each bit independently with probability ``eps``.

    ``bits``: 0/1, any shape; ``eps`` in [0, 1), validated if a Python number. Returns symbols in {0, 1, 2} with
    ``2`` (:data:`ERASURE`) for an erased bit, shape and dtype of ``bits`` (``int32`` for boolean input).
    """
    _maybe_check_prob("eps", eps, 1.0, hi_inclusive=False)
    bits = jnp.asarray(bits)
    if bits.dtype == jnp.bool_:
        bits = bits.astype(jnp.int32)
    erase = jax.random.bernoulli(key, eps, bits.shape)
    return jnp.where(erase, jnp.asarray(ERASURE, bits.dtype), bits)


def bec_to_signed(y: Array, dtype: Any = jnp.float32) -> Array:
    """BEC symbols to ``0 -> -1, 1 -> +1, erased -> 0`` (sign of the bit-1 log-odds)."""
    y = jnp.asarray(y)
    return jnp.where(y == ERASURE, 0.0, 2.0 * y - 1.0).astype(dtype)


def bec_to_reference(y: Array, dtype: Any = jnp.float32) -> Array:
    """BEC symbols as the raw values ``{0., 1., 2.}`` (what the public NECST code feeds its decoder)."""
    return jnp.asarray(y).astype(dtype)


def awgn_bpsk(key: Array, bits: Array, sigma: Any) -> Array:
    """BPSK over an AWGN channel: ``r = (1 - 2 b) + sigma * n``, ``n ~ N(0, 1)`` (LLR: :func:`awgn_llr`).

    ``sigma > 0`` is validated if a Python number. Returns soft values of ``bits``' shape, floating dtype (``bits``'
    dtype if floating).
    """
    if _is_concrete_number(sigma):
        _check_positive("sigma", sigma)
    bits = jnp.asarray(bits)
    dtype = _float_dtype(bits)
    x = 1.0 - 2.0 * bits.astype(dtype)
    return x + jnp.asarray(sigma, dtype) * jax.random.normal(key, bits.shape, dtype)


def awgn_llr(r: Array, sigma: Any) -> Array:
    """Channel LLR ``log P(b=0|r) / P(b=1|r) = 2 r / sigma^2`` for BPSK ``0 -> +1`` (equiprobable bits)."""
    r = jnp.asarray(r)
    return 2.0 * r / jnp.square(jnp.asarray(sigma, _float_dtype(r)))


def bsc_llr(bits: Array, eps: Any) -> Array:
    """BSC channel LLR ``log P(b=0|y) / P(b=1|y) = (1 - 2 y) log((1 - eps) / eps)``; ``+-inf`` at eps 0, 0 at 0.5."""
    _maybe_check_prob("eps", eps, 0.5)
    bits = jnp.asarray(bits)
    dtype = _float_dtype(bits)
    eps = jnp.asarray(eps, dtype)
    magnitude = jnp.log1p(-eps) - jnp.log(eps)
    return (1.0 - 2.0 * bits.astype(dtype)) * magnitude


def _is_jax(*values: Any) -> bool:
    return any(isinstance(v, jax.Array) for v in values)


def _db_to_sigma(name: str, db: Any, scale: Any) -> Any:
    """``sigma = sqrt(1 / (2 scale 10^(db/10)))``: NumPy float64 (a Python float for scalars) for NumPy/Python
    inputs, checked; ``jnp`` for JAX arrays (traced values are not checked)."""
    if _is_jax(db, scale):
        return jnp.sqrt(1.0 / (2.0 * scale * jnp.power(10.0, jnp.asarray(db, jnp.result_type(float)) / 10.0)))
    out = np.sqrt(0.5 / (scale * np.power(10.0, _check_db(name, db) / 10.0)))
    return float(out) if np.ndim(out) == 0 else out


def _check_db(name: str, x: Any) -> np.ndarray:
    arr = np.asarray(x, dtype=np.float64)
    if np.any(~np.isfinite(arr)):
        raise ValueError(f"{name} must be finite (dB), got {arr}")
    return arr


def _check_rate(rate: Any) -> Any:
    """A code rate in (0, 1] (bits per binary channel use); JAX arrays pass unchecked."""
    return rate if _is_jax(rate) else check_probability("rate", rate, 1.0, lo_open=True)


def check_sigma(sigma: Any) -> np.ndarray:
    """A noise standard deviation (or an array of them) as float64, finite and > 0, else ``ValueError``."""
    arr = np.asarray(sigma, dtype=np.float64)
    bad = ~np.isfinite(arr) | (arr <= 0.0)
    if np.any(bad):
        raise ValueError(f"sigma (noise standard deviation) must be finite and > 0, got {float(arr[bad].flat[0])!r}")
    return arr


def ebn0_db_to_sigma(ebn0_db: Any, rate: Any) -> Any:
    """Noise std of unit-energy BPSK at Eb/N0 (dB) and code rate ``R = k / n``: ``sigma^2 = 1 / (2 R Eb/N0)``.
    Float64 (a Python float for numbers, else a NumPy array) unless an argument is a JAX array (then ``jnp``)."""
    return _db_to_sigma("ebn0_db", ebn0_db, _check_rate(rate))


def esn0_db_to_sigma(esn0_db: Any) -> Any:
    """Noise std ``sigma = sqrt(1 / (2 Es/N0))`` of unit-energy BPSK at Es/N0 in dB."""
    return _db_to_sigma("esn0_db", esn0_db, 1.0)


def sigma_to_esn0_db(sigma: Any) -> Any:
    """Es/N0 in dB, ``10 log10(1 / (2 sigma^2))`` (float64)."""
    out = -10.0 * np.log10(2.0 * check_sigma(sigma) ** 2)
    return float(out) if np.ndim(out) == 0 else out


def sigma_to_ebn0_db(sigma: Any, rate: Any) -> Any:
    """Eb/N0 in dB, ``10 log10(1 / (2 R sigma^2))`` (float64)."""
    out = -10.0 * np.log10(2.0 * _check_rate(rate) * check_sigma(sigma) ** 2)
    return float(out) if np.ndim(out) == 0 else out


# ----------------------------------------------------------------------------------------------------------
# Channel-collapsed noisy-encoder distributions (NECST sec. 4).


def _log_bernoulli(logits: Array) -> tuple[Array, Array]:
    """``(log(1 - p), log p)`` for ``p = sigmoid(logits)``, stable for large ``|logits|``."""
    return jax.nn.log_sigmoid(-logits), jax.nn.log_sigmoid(logits)


def _float_logits(logits: Array) -> Array:
    logits = jnp.asarray(logits)
    return logits.astype(_float_dtype(logits))


def bsc_noisy_log_probs(logits: Array, eps: Any) -> tuple[Array, Array]:
    """Log-probabilities of the BSC noisy encoder (NECST sec. 4), ``(log q, log(1 - q))``.

    ``q = P(y = 1 | x) = p (1 - 2 eps) + eps``, ``p = sigmoid(logits)``, as ``log q = logaddexp(log p + log(1 - eps),
    log(1 - p) + log eps)`` (likewise ``1 - q``): finite for ``|logits|`` up to ~100, no NaN at ``eps = 0``.
    ``eps`` in [0, 0.5], scalar or broadcastable; both outputs have the shape of ``logits`` (any shape).
    """
    _maybe_check_prob("eps", eps, 0.5)
    logits = _float_logits(logits)
    eps = jnp.asarray(eps, logits.dtype)
    log_p0, log_p1 = _log_bernoulli(logits)
    log_keep, log_flip = jnp.log1p(-eps), jnp.log(eps)
    log_q1 = jnp.logaddexp(log_p1 + log_keep, log_p0 + log_flip)
    log_q0 = jnp.logaddexp(log_p0 + log_keep, log_p1 + log_flip)
    return log_q1, log_q0


def bsc_noisy_logits(logits: Array, eps: Any) -> Array:
    """Logits ``log q - log(1 - q)`` of the BSC noisy encoder; equals ``logits`` at ``eps = 0``."""
    log_q1, log_q0 = bsc_noisy_log_probs(logits, eps)
    return log_q1 - log_q0


def bec_noisy_log_probs(logits: Array, eps: Any) -> Array:
    """Log-probabilities of the BEC noisy encoder (NECST sec. 4), shape ``[..., 3]``.

    Categories ``(0, 1, erased)`` with probabilities ``((1-eps)(1-p), (1-eps) p, eps)``, ``p = sigmoid(logits)``. At
    ``eps = 0`` the erasure entry is ``-inf``: pick entries with ``take_along_axis``, not one-hot products. ``eps``
    in [0, 1), scalar or broadcastable to ``logits`` (any shape).
    """
    _maybe_check_prob("eps", eps, 1.0, hi_inclusive=False)
    logits = _float_logits(logits)
    eps = jnp.asarray(eps, logits.dtype)
    log_p0, log_p1 = _log_bernoulli(logits)
    log_keep = jnp.log1p(-eps)
    log_erase = jnp.broadcast_to(jnp.log(eps), logits.shape)
    return jnp.stack([log_keep + log_p0, log_keep + log_p1, log_erase], axis=-1)


# ----------------------------------------------------------------------------------------------------------
# Capacities (bits per channel use).


def binary_entropy(p: Any) -> Any:
    """Binary entropy ``H(p) = -p log2 p - (1-p) log2 (1-p)`` in bits, ``H(0) = H(1) = 0``: ``jnp`` for a JAX array
    (traced, differentiable; not checked), else float64 with ``p`` checked to be in [0, 1] (a Python float for a
    number)."""
    if _is_jax(p):
        p = p.astype(_float_dtype(p))
        nats = -(jax.scipy.special.xlogy(p, p) + jax.scipy.special.xlogy(1.0 - p, 1.0 - p))
        return nats / math.log(2.0)
    p = check_probability("p", p, 1.0)
    out = (special.entr(p) + special.entr(1.0 - p)) / math.log(2.0)
    return float(out) if np.ndim(out) == 0 else out


def bsc_capacity(eps: Any) -> Any:
    """BSC capacity ``1 - H(eps)`` bits, ``eps in [0, 0.5]`` (NECST sec. 5.2); float64 unless ``eps`` is a JAX
    array."""
    if not _is_jax(eps):
        check_probability("eps", eps, 0.5)
    return 1.0 - binary_entropy(eps)


def bec_capacity(eps: Any) -> Any:
    """BEC capacity ``1 - eps`` bits, ``eps in [0, 1]``; float64 unless ``eps`` is a JAX array."""
    if _is_jax(eps):
        return 1.0 - eps.astype(_float_dtype(eps))
    out = 1.0 - check_probability("eps", eps, 1.0)
    return float(out) if np.ndim(out) == 0 else out


def _mutual_information_bits(prior_one: float, transition: np.ndarray) -> float:
    prior = np.array([1.0 - prior_one, prior_one])
    joint = prior[:, None] * transition
    out = joint.sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(joint > 0, joint * np.log2(joint / (prior[:, None] * out[None, :])), 0.0)
    return float(np.sum(terms))


def binary_input_capacity(transition: Any, tol: float = 1e-12) -> float:
    """Capacity (bits) of a binary-input discrete memoryless channel, by maximising ``I(X; Y)``.

    ``transition``: ``[2, S]`` matrix ``P(y|x)`` (rows sum to 1). ``I`` is concave in the prior ``P(X=1)``, so a
    golden-section search finds the optimal prior to ``tol``.
    """
    t = np.asarray(transition, dtype=np.float64)
    if t.ndim != 2 or t.shape[0] != 2 or not np.allclose(t.sum(axis=1), 1.0) or np.any(t < 0):
        raise ValueError(f"transition must be a [2, S] row-stochastic matrix, got {t!r}")
    lo, hi = 0.0, 1.0
    ratio = (math.sqrt(5.0) - 1.0) / 2.0
    a, b = hi - ratio * (hi - lo), lo + ratio * (hi - lo)
    fa, fb = _mutual_information_bits(a, t), _mutual_information_bits(b, t)
    while hi - lo > tol:
        if fa < fb:
            lo, a, fa = a, b, fb
            b = lo + ratio * (hi - lo)
            fb = _mutual_information_bits(b, t)
        else:
            hi, b, fb = b, a, fa
            a = hi - ratio * (hi - lo)
            fa = _mutual_information_bits(a, t)
    return max(fa, fb, 0.0)


# ----------------------------------------------------------------------------------------------------------
# Channel abstraction.


CHANNELS: dict[str, type[BinaryInputChannel]] = {}
"""Registered channels by name (see :func:`register_channel`)."""


def register_channel(cls: type[BinaryInputChannel]) -> type[BinaryInputChannel]:
    """Class decorator adding a channel to :data:`CHANNELS` under ``cls.name``."""
    name = getattr(cls, "name", None)
    if not isinstance(name, str) or not name:
        raise ValueError(f"channel class {cls.__name__} must define a non-empty string 'name'")
    if name in CHANNELS and CHANNELS[name] is not cls:
        raise ValueError(f"channel name {name!r} is already registered to {CHANNELS[name].__name__}")
    CHANNELS[name] = cls
    return cls


def _take_symbols(symbol_log_probs: Array, y: Array) -> Array:
    """``symbol_log_probs[..., y]`` per element; ``symbol_log_probs`` ``[..., S]`` and ``y`` broadcast together.

    ``S - 1`` selects instead of a gather: fuses, and its gradient is a select, not a scatter-add (slow on XLA:CPU).
    """
    y = jnp.asarray(y)
    out = symbol_log_probs[..., 0]
    for s in range(1, symbol_log_probs.shape[-1]):
        out = jnp.where(y == s, symbol_log_probs[..., s], out)
    return jnp.broadcast_to(out, jnp.broadcast_shapes(y.shape, out.shape))


def _inverse_cdf_sample(key: Array, cdf: Array, shape: tuple[int, ...]) -> Array:
    """Symbols ``sum_s [u >= cdf_s]`` (``s < S-1``), one uniform ``u`` per element; unrolled over ``s`` for XLA:CPU."""
    u = jax.random.uniform(key, shape, cdf.dtype)
    y = jnp.zeros(shape, jnp.int32)
    for s in range(cdf.shape[-1] - 1):
        y = y + (u >= cdf[..., s]).astype(jnp.int32)
    return y


@dataclasses.dataclass(frozen=True)
class BinaryInputChannel(abc.ABC):
    """A memoryless channel with binary input and ``num_symbols`` discrete outputs, noise level ``eps``.

    Frozen and hashable (static argument or closure under ``jax.jit``). Subclasses define ``name``, ``num_symbols``,
    the ``eps`` range (``eps_max``, ``eps_max_inclusive``) and :meth:`transition_matrix`; the rest is generic.
    Shapes: encoder ``logits`` are ``[*batch, m]``; samples ``y`` are ``[K, *batch, m]`` integer symbols.
    """

    eps: float

    name: ClassVar[str] = ""
    num_symbols: ClassVar[int] = 2
    eps_max: ClassVar[float] = 0.5
    eps_max_inclusive: ClassVar[bool] = True
    #: Whether :meth:`sample` and :meth:`log_prob` accept ``eps`` as a traced array (a group of runs that varies
    #: the training noise needs it); the generic ops read ``eps`` through NumPy and do not.
    traced_noise: ClassVar[bool] = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "eps", self.check_eps(f"eps (channel {self.name!r})", self.eps))

    @abc.abstractmethod
    def transition_matrix(self) -> np.ndarray:
        """``P(y | y_hat)`` as a float64 ``[2, num_symbols]`` NumPy array (rows: input bit 0, 1)."""

    # -- distributions -----------------------------------------------------------------------------------

    def symbol_log_probs(self, logits: Array) -> Array:
        """Per-bit log-probabilities of the noisy encoder over output symbols, ``[*logits.shape, S]``.

        Generic ``log sum_{b} P(b|logits) P(y|b)`` in log space. Zero transition entries are dropped at trace time,
        so impossible symbols get a constant ``-inf`` and gradients stay finite.
        """
        logits = _float_logits(logits)
        log_pb = _log_bernoulli(logits)
        t = self.transition_matrix()
        columns = []
        for s in range(self.num_symbols):
            terms = [log_pb[b] + math.log(t[b, s]) for b in range(2) if t[b, s] > 0.0]
            if not terms:
                columns.append(jnp.full(logits.shape, -jnp.inf, logits.dtype))
            elif len(terms) == 1:
                columns.append(terms[0])
            else:
                columns.append(jnp.logaddexp(terms[0], terms[1]))
        return jnp.stack(columns, axis=-1)

    def sample(self, key: Array, logits: Array, num_samples: int) -> Array:
        """``num_samples`` draws from the noisy encoder ``q(y|x)``: int32 symbols ``[K, *logits.shape]``."""
        k = _check_num_samples(num_samples)
        logits = _float_logits(logits)
        cdf = jnp.cumsum(jnp.exp(self.symbol_log_probs(logits)), axis=-1)
        return _inverse_cdf_sample(key, cdf, (k,) + logits.shape)

    def log_prob(self, y: Array, logits: Array) -> Array:
        """``log q(y|x)`` summed over the last (bit) axis: ``y`` ``[..., *batch, m]`` -> ``[..., *batch]``.

        ``y`` (valid symbols) broadcasts against ``logits`` ``[*batch, m]``, e.g. a leading sample axis ``K``.
        Differentiable w.r.t. ``logits``.
        """
        return jnp.sum(_take_symbols(self.symbol_log_probs(logits), y), axis=-1)

    def sample_hard(self, key: Array, bits: Array, num_samples: int | None = None) -> Array:
        """Hard bits through the channel: int32 symbols shaped like ``bits``, or ``[num_samples, *bits.shape]``."""
        bits = jnp.asarray(bits).astype(jnp.int32)
        shape = bits.shape if num_samples is None else (_check_num_samples(num_samples),) + bits.shape
        t = self.transition_matrix()
        cdf_table = np.cumsum(t, axis=1)
        cdf_table[:, -1] = 1.0
        cdf = jnp.asarray(cdf_table, jnp.result_type(float))[bits]
        return _inverse_cdf_sample(key, cdf, shape)

    def decoder_input(self, y: Array, dtype: Any = jnp.float32) -> Array:
        """What the decoder network sees for symbols ``y`` (same shape). Default: the symbol values."""
        return jnp.asarray(y).astype(dtype)

    # -- channel-level properties ------------------------------------------------------------------------

    def noisy(self, eps: float) -> BinaryInputChannel:
        """The same channel (same options) at another noise level ``eps`` (validated)."""
        return dataclasses.replace(self, eps=eps)

    @classmethod
    def check_eps(cls, field: str, eps: Any) -> float:
        """``eps`` as a float if it is in this channel's noise range, else a ``ValueError`` naming ``field``."""
        return float(check_probability(field, _as_real(field, eps), cls.eps_max, hi_open=not cls.eps_max_inclusive))

    def with_traced_eps(self, eps: Any) -> BinaryInputChannel:
        """A copy whose ``eps`` is ``eps``, possibly a traced scalar (inside a vmapped training step only).

        Only the training-time ops (:meth:`sample`, :meth:`log_prob`, :meth:`decoder_input`) may be used on the
        copy; it skips the range check, so ``eps`` must come from validated configs. Raises ``ValueError`` for
        channels whose ops need a Python float (``traced_noise`` False).
        """
        if not self.traced_noise:
            raise ValueError(
                f"channel {self.name!r} cannot take its noise level as a traced value, so "
                f"channel.eps cannot vary inside a group of runs; run the noise levels as separate "
                f"groups"
            )
        out = copy.copy(self)
        object.__setattr__(out, "eps", eps)
        return out

    @property
    def capacity(self) -> float:
        """Capacity in bits per channel use (generic: :func:`binary_input_capacity`)."""
        return binary_input_capacity(self.transition_matrix())


@register_channel
@dataclasses.dataclass(frozen=True)
class BSC(BinaryInputChannel):
    """Binary symmetric channel (NECST sec. 3.1), flip probability ``eps`` in [0, 0.5]; decoder sees ``{0., 1.}``."""

    name: ClassVar[str] = "bsc"
    num_symbols: ClassVar[int] = 2
    eps_max: ClassVar[float] = 0.5
    eps_max_inclusive: ClassVar[bool] = True
    traced_noise: ClassVar[bool] = True

    def transition_matrix(self) -> np.ndarray:
        e = self.eps
        return np.array([[1.0 - e, e], [e, 1.0 - e]])

    def symbol_log_probs(self, logits: Array) -> Array:
        log_q1, log_q0 = bsc_noisy_log_probs(logits, self.eps)
        return jnp.stack([log_q0, log_q1], axis=-1)

    @property
    def capacity(self) -> float:
        return bsc_capacity(self.eps)


@register_channel
@dataclasses.dataclass(frozen=True)
class BEC(BinaryInputChannel):
    """Binary erasure channel (NECST sec. 3.1), erasure probability ``eps`` in [0, 1); symbols ``{0, 1, 2}``.

    ``erasure_input``: decoder input, ``'signed'`` (default) or ``'reference'`` (module docstring).
    """

    erasure_input: str = "signed"

    name: ClassVar[str] = "bec"
    num_symbols: ClassVar[int] = 3
    eps_max: ClassVar[float] = 1.0
    eps_max_inclusive: ClassVar[bool] = False
    traced_noise: ClassVar[bool] = True

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.erasure_input not in ERASURE_INPUTS:
            raise ValueError(f"erasure_input must be one of {list(ERASURE_INPUTS)}, got {self.erasure_input!r}")

    def transition_matrix(self) -> np.ndarray:
        e = self.eps
        return np.array([[1.0 - e, 0.0, e], [0.0, 1.0 - e, e]])

    def symbol_log_probs(self, logits: Array) -> Array:
        return bec_noisy_log_probs(logits, self.eps)

    def decoder_input(self, y: Array, dtype: Any = jnp.float32) -> Array:
        if self.erasure_input == "signed":
            return bec_to_signed(y, dtype)
        return bec_to_reference(y, dtype)

    @property
    def capacity(self) -> float:
        return bec_capacity(self.eps)


def make_channel(name: str, eps: float, erasure_input: str = "signed") -> BinaryInputChannel:
    """Builds a registered channel by ``name`` (:data:`CHANNELS`: ``'bsc'``, ``'bec'``).

    ``eps`` is validated against the channel's range (BSC [0, 0.5], BEC [0, 1)). ``erasure_input`` (one of
    :data:`ERASURE_INPUTS`) is used by channels with that field (BEC), validated and ignored by the others. Raises
    ValueError for an unknown name, ``eps`` out of range, or a bad ``erasure_input``.
    """
    if not isinstance(name, str) or name not in CHANNELS:
        raise ValueError(f"channel name must be one of {sorted(CHANNELS)}, got {name!r}")
    if erasure_input not in ERASURE_INPUTS:
        raise ValueError(f"erasure_input must be one of {list(ERASURE_INPUTS)}, got {erasure_input!r}")
    cls = CHANNELS[name]
    kwargs: dict[str, Any] = {"eps": eps}
    if "erasure_input" in {f.name for f in dataclasses.fields(cls)}:
        kwargs["erasure_input"] = erasure_input
    return cls(**kwargs)
