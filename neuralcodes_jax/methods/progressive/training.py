"""Losses of learned binary codes (stage 1 through a channel relaxation, stage 2 on the hard code), the random
draws of a step from one bits array, and the channel relaxations."""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from neuralcodes_jax import channels
from neuralcodes_jax.config_utils import check_int as _check_int
from neuralcodes_jax.methods.progressive.config import MAX_MESSAGE_BITS, ProgressiveSpec
from neuralcodes_jax.methods.progressive.network import (
    _batch_encoder_logits,
    all_messages,
    decoder_logits,
    encoder_logits,
    encoder_table,
    message_bits,
)

PyTree = Any

# ------------------------------------------------------------------------------------------ training


def _message_loss(
    logits: jax.Array, messages: jax.Array, one_hot: jax.Array, spec: ProgressiveSpec
) -> tuple[jax.Array, jax.Array]:
    """Mean loss and block error rate of a batch (``one_hot``: ``[B, M]`` one-hot of ``messages``)."""
    if spec.decoder_output == "softmax":
        # The one-hot form (not integer labels): its gradient is elementwise, where the integer-label form
        # differentiates a gather into a scatter, slow when many seeds are vmapped on XLA:CPU.
        loss = optax.softmax_cross_entropy(logits, one_hot)
        wrong = jnp.argmax(logits, axis=-1) != messages
    else:
        bits = message_bits(messages, spec.k).astype(logits.dtype)
        loss = jnp.sum(optax.sigmoid_binary_cross_entropy(logits, bits), axis=-1)
        wrong = jnp.any((logits > 0) != (bits > 0.5), axis=-1)
    return jnp.mean(loss), jnp.mean(wrong.astype(jnp.float32))


def ideal_decoder_loss(
    codebook: Any, spec: ProgressiveSpec, key: jax.Array, num_samples: int = 100_000, batch: int = 5_000
) -> tuple[float, float]:
    """The stage-1 objective of ``spec.training`` at a hard codebook ``[M, n]`` with the ideal decoder: the
    cross-entropy of the exact posterior ``P(m | z)`` of the training channel, i.e. the conditional entropy
    ``H(M | Z)`` in nats, by Monte Carlo over uniform messages and channel noise. Returns ``(mean, standard error)``.

    The channel is what stage 1 sends a binary codeword through: for progressive training with
    ``relaxation="flip_gauss"`` the BSC(``train_p``) flips plus the Gaussian term ``relax_sigma``
    (``log p(z_j | s_j) = logaddexp(log(1-p) + s_j z_j / sigma^2, log p - s_j z_j / sigma^2) + const``); otherwise
    (straight-through, Gumbel-softmax at the end of its annealing, the ``"exact"`` relaxation) the BSC itself; with
    ``relaxation="awgn"`` the BPSK-AWGN channel of noise ``1 / Q^-1(train_p)`` (log-likelihood ``z . s / sigma^2``
    up to terms common to every codeword).
    The minimiser of each method's expected loss over decoders is this posterior, so no decoder reaches a lower
    value on that codebook: the number tells whether the objective prefers one code to another.
    """
    if spec.channel != "bsc":
        raise ValueError(f"ideal_decoder_loss covers the BSC objectives (channel 'bsc'), got channel={spec.channel!r}")
    if not 0.0 < spec.train_p < 0.5:
        raise ValueError(f"train_p must be in (0, 0.5) for the ideal-decoder loss, got {spec.train_p!r}")
    _check_int("num_samples", num_samples, 1)
    _check_int("batch", batch, 1)
    book = jnp.asarray(codebook, jnp.float32)
    if book.shape != (spec.num_messages, spec.n):
        raise ValueError(f"codebook must have shape ({spec.num_messages}, {spec.n}), got {book.shape}")
    s = 1.0 - 2.0 * book  # [M, n] BPSK codewords
    sigma = spec.relax_sigma if (spec.training == "progressive" and spec.relaxation == "flip_gauss") else 0.0
    awgn = spec.training == "progressive" and spec.relaxation == "awgn"
    sigma_awgn = float(relax_awgn_sigma(spec.train_p)) if awgn else 0.0
    log_keep, log_flip = math.log1p(-spec.train_p), math.log(spec.train_p)

    @jax.jit
    def losses(k):
        k_m, k_e, k_n = jax.random.split(k, 3)
        msgs = jax.random.randint(k_m, (batch,), 0, spec.num_messages)
        flips = jax.random.bernoulli(k_e, spec.train_p, (batch, spec.n))
        z = s[msgs] * (1.0 - 2.0 * flips.astype(jnp.float32))
        if awgn:
            z = s[msgs] + sigma_awgn * jax.random.normal(k_n, z.shape)
            logits = (z @ s.T) / sigma_awgn**2
        elif sigma > 0:
            z = z + sigma * jax.random.normal(k_n, z.shape)
            t = z / sigma**2
            f_pos = jnp.logaddexp(log_keep + t, log_flip - t)  # log-likelihood term when s_j = +1
            f_neg = jnp.logaddexp(log_keep - t, log_flip + t)  # when s_j = -1
            logits = f_pos @ (s > 0).astype(jnp.float32).T + f_neg @ (s < 0).astype(jnp.float32).T
        else:
            agree = 0.5 * (z @ s.T + spec.n)
            logits = log_keep * agree + log_flip * (spec.n - agree)
        picked = jnp.take_along_axis(logits, msgs[:, None], axis=1)[:, 0]
        return jax.nn.logsumexp(logits, axis=1) - picked

    vals = np.concatenate(
        [np.asarray(losses(jax.random.fold_in(key, i)), np.float64) for i in range(-(-num_samples // batch))]
    )[:num_samples]
    return float(vals.mean()), float(vals.std(ddof=1) / math.sqrt(vals.size))


# ------------------------------------------------------------------- random draws from one array of bits
#
# A training step draws all its randomness as one ``jax.random.bits`` array ``[width, B]`` and converts the
# rows with the transforms ``jax.random`` itself applies to its bits (the tests check bit equality with
# ``jax.random.uniform`` / ``normal`` / ``logistic`` / ``bernoulli`` of the same key). One draw instead of
# five key splits and four sampler calls per step: on XLA:CPU every ``jax.random`` call is a rolled
# threefry loop whose per-call overhead dominated the step of the small (7,4) model.


def uniform_from_bits(bits: jax.Array, minval: Any = 0.0, maxval: Any = 1.0) -> jax.Array:
    """``jax.random.uniform`` (float32) of uniform 32-bit words: the top 23 bits as the mantissa of [1, 2)."""
    fl = jax.lax.bitcast_convert_type((bits >> np.uint32(9)) | np.uint32(0x3F800000), jnp.float32) - 1.0
    minval = jnp.asarray(minval, jnp.float32)
    maxval = jnp.asarray(maxval, jnp.float32)
    return jnp.maximum(minval, fl * (maxval - minval) + minval)


def normal_from_bits(bits: jax.Array) -> jax.Array:
    """``jax.random.normal`` (float32) of uniform 32-bit words: ``sqrt(2) erfinv(u)``, ``u`` uniform on (-1, 1)."""
    lo = np.nextafter(np.float32(-1.0), np.float32(0.0))
    return np.float32(np.sqrt(2)) * jax.lax.erf_inv(uniform_from_bits(bits, lo, 1.0))


def logistic_from_bits(bits: jax.Array) -> jax.Array:
    """``jax.random.logistic`` (float32) of uniform 32-bit words: ``log(u) - log(1 - u)``."""
    x = uniform_from_bits(bits, np.finfo(np.float32).tiny, 1.0)
    return jnp.log(x) - jnp.log1p(-x)


def bernoulli_from_bits(bits: jax.Array, p: Any) -> jax.Array:
    """``jax.random.bernoulli(key, p)`` of uniform 32-bit words: ``u < p``."""
    return uniform_from_bits(bits) < p


def sample_messages(bits: jax.Array, k: int) -> jax.Array:
    """Uniform messages on ``0..2^k-1`` (``int32``) from uniform 32-bit words: their top ``k`` bits (exact)."""
    _check_int("k", k, 1, MAX_MESSAGE_BITS)
    return (bits >> np.uint32(32 - k)).astype(jnp.int32)


class _BitRows:
    """Hands out consecutive row blocks of a ``[width, B]`` bits array; :meth:`done` checks all were used.

    The batch is the minor axis: XLA:CPU vectorizes elementwise loops (threefry, the samplers, the channel) along
    the minor axis only, and a code length ``n`` of 7 would leave most vector lanes empty.
    """

    def __init__(self, bits: jax.Array):
        self.bits, self.pos = bits, 0

    def take(self, rows: int) -> jax.Array:
        out = self.bits[self.pos : self.pos + rows]
        self.pos += rows
        return out

    def done(self) -> None:
        if self.pos != self.bits.shape[0]:
            raise AssertionError(f"drew {self.bits.shape[0]} random rows, used {self.pos}")


def _flip_signed(c: jax.Array, flips: jax.Array) -> jax.Array:
    """Signed BSC output ``(1 - 2c)(1 - 2e)``: exact for binary ``c`` (``1 - 2 (c XOR e)``), linear in ``c``."""
    return (1.0 - 2.0 * c) * (1.0 - 2.0 * flips.astype(c.dtype))


def _channel_width(spec: ProgressiveSpec) -> int:
    """Random rows of the real channel (BSC flips or AWGN noise), one per code bit."""
    return spec.n


def _channel_exact(cols: _BitRows, c: jax.Array, spec: ProgressiveSpec, p: Any = None) -> jax.Array:
    """The real channel on (possibly relaxed) bits ``c`` ``[n, B]``, as signed decoder input, without relaxation
    noise.

    BSC(``p``, default ``train_p``): :func:`_flip_signed` with Bernoulli flips (``channels.bsc`` for binary
    ``c``); AWGN: ``(1 - 2c) + sigma n`` (``channels.awgn_bpsk``).
    """
    noise = cols.take(_channel_width(spec))
    if spec.channel == "bsc":
        return _flip_signed(c, bernoulli_from_bits(noise, spec.train_p if p is None else p))
    return (1.0 - 2.0 * c) + spec.awgn_sigma * normal_from_bits(noise)


def stage1_crossover(step: jax.Array, spec: ProgressiveSpec) -> jax.Array:
    """Stage-1 BSC crossover of progressive training at ``step`` (``train_p`` unless ``train_p_start > 0``)."""
    if spec.train_p_start <= 0:
        return jnp.asarray(spec.train_p, jnp.float32)
    frac = jnp.minimum(jnp.asarray(step, jnp.float32) / max(0.5 * spec.stage1_steps, 1.0), 1.0)
    return spec.train_p_start * (spec.train_p / spec.train_p_start) ** frac


def relax_awgn_sigma(p: Any) -> Any:
    """``1 / Q^-1(p)``: the BPSK-AWGN noise whose hard decisions form the BSC(p), ``0 < p < 1/2``."""
    return -1.0 / jax.scipy.special.ndtri(jnp.asarray(p, jnp.float32))


def _stage1_channel_width(spec: ProgressiveSpec) -> int:
    if spec.channel == "bsc" and spec.relaxation == "flip_gauss" and spec.relax_sigma > 0:
        return 2 * spec.n
    return spec.n


def _channel_stage1(cols: _BitRows, c: jax.Array, step: jax.Array, spec: ProgressiveSpec) -> jax.Array:
    """Stage-1 differentiable channel surrogate for continuous soft bits (module docstring)."""
    if spec.channel == "awgn":
        return _channel_exact(cols, c, spec)
    p = stage1_crossover(step, spec)
    if spec.relaxation == "awgn":
        return (1.0 - 2.0 * c) + relax_awgn_sigma(p) * normal_from_bits(cols.take(spec.n))
    z = _channel_exact(cols, c, spec, p)
    if spec.relax_sigma > 0:
        z = z + spec.relax_sigma * normal_from_bits(cols.take(spec.n))
    return z


def all_words(n: int) -> jax.Array:
    """All ``2^n`` words as bits ``int32 [2^n, n]`` (row ``y`` is the binary expansion of ``y``, MSB first)."""
    return message_bits(jnp.arange(1 << n, dtype=jnp.int32), n)


def _exact_noisy_encoder_loss(
    params: PyTree, step: jax.Array, spec: ProgressiveSpec
) -> tuple[jax.Array, jax.Array, jax.Array]:
    """Exact expected loss when soft bit ``c`` is sent as ``Bernoulli(c)`` over the BSC(p), all ``y`` enumerated.

    Returns ``(loss, block error rate of the decoder's decisions, encoder logits [M, n])``.
    """
    a = encoder_logits(params, all_messages(spec), spec)  # [M, n]
    p = stage1_crossover(step, spec)
    log_q1, log_q0 = channels.bsc_noisy_log_probs(a, p)  # log P(y_j = 1 | m), log P(y_j = 0 | m)
    words = all_words(spec.n).astype(jnp.float32)  # [Y, n]
    log_py = words @ log_q1.T + (1.0 - words) @ log_q0.T  # [Y, M]
    logits = decoder_logits(params["decoder"], 1.0 - 2.0 * words, spec)
    if spec.decoder_output == "softmax":
        nll = -jax.nn.log_softmax(logits, axis=-1)  # [Y, M]
        wrong = (jnp.argmax(logits, axis=-1)[:, None] != all_messages(spec)[None, :]).astype(jnp.float32)
    else:
        bits = message_bits(all_messages(spec), spec.k).astype(jnp.float32)  # [M, k]
        nll = jax.nn.softplus(logits) @ jnp.ones((spec.k, 1)) - logits @ bits.T  # [Y, M]
        dec = (logits > 0).astype(jnp.float32)
        wrong = (jnp.abs(dec[:, None, :] - bits[None]).sum(-1) > 0).astype(jnp.float32)
    py = jnp.exp(log_py)
    m = spec.num_messages
    return jnp.sum(py * nll) / m, jax.lax.stop_gradient(jnp.sum(py * wrong) / m), a


def gumbel_temperature(step: jax.Array, spec: ProgressiveSpec) -> jax.Array:
    """Geometric annealing from ``gumbel_tau_start`` (step 0) to ``gumbel_tau_end`` (last stage-1 step)."""
    frac = jnp.asarray(step, jnp.float32) / max(spec.stage1_steps - 1, 1)
    return spec.gumbel_tau_start * (spec.gumbel_tau_end / spec.gumbel_tau_start) ** frac


def _stage1_width(spec: ProgressiveSpec) -> int:
    """Random 32-bit words per example of a stage-1 step (messages, relaxation and channel noise)."""
    width = 0 if spec.full_batch else 1
    if spec.training == "progressive":
        return width + (spec.n if spec.logit_noise > 0 else 0) + _stage1_channel_width(spec)
    if spec.training == "straight_through":
        return width + _channel_width(spec)
    return width + spec.n + _channel_width(spec)  # gumbel: logistic noise, then the channel


def _stage1_inputs(a: jax.Array, cols: _BitRows, step: jax.Array, spec: ProgressiveSpec) -> jax.Array:
    """Decoder inputs ``[n, B]`` of stage 1 for each training method, from the encoder logits ``a`` ``[n, B]``."""
    if spec.training == "progressive":
        a_in = a
        if spec.logit_noise > 0:
            frac = jnp.maximum(1.0 - jnp.asarray(step, jnp.float32) / (0.75 * spec.stage1_steps), 0.0)
            a_in = a + spec.logit_noise * frac * normal_from_bits(cols.take(spec.n))
        return _channel_stage1(cols, jax.nn.sigmoid(a_in), step, spec)
    hard = (a > 0).astype(a.dtype)
    if spec.training == "straight_through":
        soft = jax.nn.sigmoid(a) if spec.ste_gradient == "sigmoid" else a
        c = soft + jax.lax.stop_gradient(hard - soft)
        return _channel_exact(cols, c, spec)
    # gumbel: binary Concrete sample of Bernoulli(sigmoid(a)).
    tau = gumbel_temperature(step, spec)
    c = jax.nn.sigmoid((a + logistic_from_bits(cols.take(spec.n))) / tau)
    if spec.gumbel_hard:
        c = c + jax.lax.stop_gradient((c > 0.5).astype(c.dtype) - c)
    return _channel_exact(cols, c, spec)


def _optimizer(lr: float, steps: int, schedule: str) -> optax.GradientTransformation:
    if schedule == "cosine":
        return optax.adam(optax.cosine_decay_schedule(lr, max(steps, 1)))
    return optax.adam(lr)


def posterior_logits(x_book: jax.Array, z: jax.Array, p: Any, spec: ProgressiveSpec) -> jax.Array:
    """Log-posterior of every message up to a constant per example, ``[B, M]``: ``log p(z | x_m)`` of signed
    channel outputs ``z [B, n]`` given the (soft) BPSK codewords ``x_book = 1 - 2 c`` ``[M, n]`` under the stage-1
    channel (``training_decoder="posterior"``; ``log_softmax`` over ``M`` gives ``log p(m | z)`` for uniform
    messages). Not the paper's decoder: the ideal one of the relaxed code, so the encoder's gradient is the one an
    exact decoder gives.

    * ``relaxation="flip_gauss"`` (BSC(``p``), :func:`_channel_stage1`): ``z_j = x_j (1 - 2 e_j) + sigma n_j``, so
      ``p(z_j | x) = (1-p) N(z_j; x, sigma^2) + p N(z_j; -x, sigma^2)``; with ``t = z / sigma^2`` and the terms
      common to every ``m`` dropped, ``log p(z | x_m) = sum_j [softplus(2 t_j x_mj + log((1-p)/p)) - t_j x_mj
      - x_mj^2 / (2 sigma^2)]`` (``logaddexp(log(1-p) + t x, log p - t x) = log p - t x + softplus(2 t x +
      log((1-p)/p))``); the ``x^2`` term matters for soft codewords.
    * ``relaxation="awgn"`` or the AWGN channel: ``z = x + sigma n``, ``log p(z | x_m) = (z . x_m - |x_m|^2 / 2) /
      sigma^2`` (a matmul).

    ``p`` may be traced (a group's ``train_p``, or the annealed stage-1 crossover).
    """
    z = jnp.asarray(z, jnp.float32)
    x_book = jnp.asarray(x_book, jnp.float32)
    if spec.channel == "awgn" or spec.relaxation == "awgn":
        sigma = spec.awgn_sigma if spec.channel == "awgn" else relax_awgn_sigma(p)
        inv = 1.0 / jnp.square(sigma)
        return inv * (z @ x_book.T - 0.5 * jnp.sum(jnp.square(x_book), axis=-1))
    if spec.relaxation != "flip_gauss":
        raise ValueError(f"posterior_logits covers relaxation 'flip_gauss' or 'awgn', got {spec.relaxation!r}")
    inv = 1.0 / spec.relax_sigma**2
    p = jnp.asarray(p, jnp.float32)
    log_odds = jnp.log1p(-p) - jnp.log(p)
    t = z * inv  # [B, n]
    # [B, n, M]: the message axis minor (XLA:CPU vectorizes along it), summed over the code bits.
    soft = jnp.sum(jax.nn.softplus(2.0 * t[:, :, None] * x_book.T[None] + log_odds), axis=1)
    return soft - t @ x_book.T - 0.5 * inv * jnp.sum(jnp.square(x_book), axis=-1)


def encoder_update_gate(step: jax.Array, spec: ProgressiveSpec) -> jax.Array:
    """1.0 at the stage-1 steps where the encoder moves, else 0.0 (``decoder_first_fraction``, ``decoder_steps``).

    The encoder is frozen for the first ``round(decoder_first_fraction * stage1_steps)`` steps, then moves on every
    ``decoder_steps``-th step counted from there.
    """
    first = round(spec.decoder_first_fraction * spec.stage1_steps)
    step = jnp.asarray(step, jnp.int32)
    on = step >= first
    if spec.decoder_steps > 1:
        on = on & (jnp.mod(step - first, spec.decoder_steps) == 0)
    return on.astype(jnp.float32)


def _stage1_messages(cols: _BitRows, spec: ProgressiveSpec) -> tuple[jax.Array, jax.Array]:
    """The batch's messages (every message in turn with ``train.full_batch``, else drawn from the first bit row)
    and their one-hot rows ``[B, M]``."""
    m = spec.num_messages
    if spec.full_batch:
        msgs = jnp.tile(all_messages(spec), spec.batch_size // m)
    else:
        msgs = sample_messages(cols.take(1)[0], spec.k)
    return msgs, jax.nn.one_hot(msgs, m, dtype=jnp.float32)


def _posterior_stage1_loss(p: PyTree, step_key: jax.Array, step: jax.Array, spec: ProgressiveSpec):
    """Stage-1 loss with the exact posterior of the relaxed codebook as the decoder: cross-entropy of ``p(m | z)``
    and the block error rate of its argmax; the encoder logits ``[n, B]``."""
    cols = _BitRows(jax.random.bits(step_key, (_stage1_width(spec), spec.batch_size)))
    msgs, one_hot = _stage1_messages(cols, spec)
    table = encoder_table(p, spec)  # [M, n]
    a = (one_hot @ table).T  # [n, B], an exact row selection
    z = _stage1_inputs(a, cols, step, spec)
    cols.done()
    p_now = stage1_crossover(step, spec) if spec.channel == "bsc" else None
    logits = posterior_logits(-jnp.tanh(0.5 * table), z.T, p_now, spec)  # x = 1 - 2 sigmoid(a) = -tanh(a / 2)
    loss = jnp.mean(optax.softmax_cross_entropy(logits, one_hot))
    bler = jnp.mean((jnp.argmax(logits, axis=-1) != msgs).astype(jnp.float32))
    return loss, bler, a


def _stage1_loss(p: PyTree, step_key: jax.Array, step: jax.Array, spec: ProgressiveSpec):
    """Stage-1 loss of a batch (with the annealed logit penalty) and its block error rate."""
    if spec.training == "progressive" and spec.channel == "bsc" and spec.relaxation == "exact":
        loss, bler, a = _exact_noisy_encoder_loss(p, step, spec)
        a = a.T  # [n, M] like the batch path's [n, B]
    elif spec.training_decoder == "posterior":
        loss, bler, a = _posterior_stage1_loss(p, step_key, step, spec)
    else:
        # Per-example arrays are [n, B] (batch minor) from the draw to the decoder input, see _BitRows.
        cols = _BitRows(jax.random.bits(step_key, (_stage1_width(spec), spec.batch_size)))
        msgs, one_hot = _stage1_messages(cols, spec)
        a = _batch_encoder_logits(p, msgs, one_hot, spec).T
        z = _stage1_inputs(a, cols, step, spec)
        cols.done()
        loss, bler = _message_loss(decoder_logits(p["decoder"], z.T, spec), msgs, one_hot, spec)
    if spec.logit_penalty > 0:
        fade = 1.0 - jnp.asarray(step, jnp.float32) / spec.stage1_steps
        # The linear encoder's systematic logits are constants: the penalty acts on its parity logits.
        penalized = a[spec.k :] if spec.encoder == "linear" else a
        loss = loss + spec.logit_penalty * fade * jnp.mean(jnp.square(penalized))
    return loss, bler


def _stage2_loss(dec: PyTree, hard: jax.Array, step_key: jax.Array, spec: ProgressiveSpec):
    """Stage-2 loss: the hard codebook ``hard`` ``[M, n]`` through the exact channel, decoder only."""
    cols = _BitRows(jax.random.bits(step_key, (1 + _channel_width(spec), spec.batch_size)))
    msgs = sample_messages(cols.take(1)[0], spec.k)
    one_hot = jax.nn.one_hot(msgs, spec.num_messages, dtype=jnp.float32)
    z = _channel_exact(cols, (one_hot @ hard).T, spec)  # rows of the hard codebook (exact selection)
    cols.done()
    return _message_loss(decoder_logits(dec, z.T, spec), msgs, one_hot, spec)
