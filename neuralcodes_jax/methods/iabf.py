"""IABF and ABF: infomax adversarial bit flip (Song et al., AAAI 2020) on top of NECST.

IABF keeps NECST's encoder, decoder, channel and K-sample VIMCO objective (``methods/necst.py``) and changes two
things (Algorithm 1; objective Eq. 29: maximise ``L_rec + lambda L_info``).

**Adversarial bit flip (decoder side, Eq. 23-26, 30, 31).** Per example, a clean code ``y ~ p_theta(y|x)`` (one
encoder sample, no channel) is decoded and ``g = dL/dy`` of the reconstruction loss ``L = -log q_phi(x|y)`` is taken
(Eq. 23; no parameter update). Per-bit noise ``eps_i`` proportional to ``|g_i|`` with ``sum_i eps_i = M eps``,
``0 <= eps_i <= 1`` (text after Eq. 30) is solved exactly by water-filling (:func:`waterfill_noise`). Only bits whose
flip increases the loss to first order may flip (Eq. 25, ``m = y XOR [g > 0]``; ``g = 0`` gives no flip;
:func:`flip_direction_mask`): ``eps_i* = eps_i m_i``. The K = 5 VIMCO samples come from the per-bit BSC relaxation
of Eq. 30, ``p_adv(y_i = 1|x) = p_i (1 - 2 eps_i*) + eps_i*``, ``p = sigmoid(f_theta(x))``; Eq. 31 is NECST's
objective (NECST Eq. 6) under ``p_adv`` with ``eps*`` held fixed (stop-gradient). The masked budget
``sum_i eps_i*`` is at most ``M eps`` (about half of it on average), logged as ``flip_rate``. Test channel: BSC(eps).

Reading of the paper: Eq. 23 writes ``L = log q_phi(x|y)`` but calls it the reconstruction *loss*, and the flips are
meant to attack "the most vulnerable bits" (worst case, as in VAT); with the log-likelihood, Eq. 25 would flip the
bits that *help*. The public code also differentiates the loss, so ``g`` is the gradient of the NLL here.

**The flip budget** (``flip_budget``). Read literally (``'paper'``, the default), the budget ``M eps`` is water-filled
over all ``M`` bits and the Eq. 25 mask then removes the bits whose flip would not raise the loss, so training
sees about half the test channel's ``M eps`` expected flips, and unmasked bits never flip. Two alternatives:
``'masked'`` water-fills the whole budget over the masked bits (expected flips ``min(M eps, #masked)``);
``'on_top'`` applies the paper's adversarial flips after BSC(eps) noise, independently (per-bit flip probability
``eps + eps_i* - 2 eps eps_i*``, expected flips ``M eps + (1 - 2 eps) sum_i eps_i*``). Each returns per-bit noise
levels used in Eq. 30 exactly as the paper's.

**Infomax (encoder side, Eq. 10-14, 27).** ``L_info = sum_d [H(Y_d) - H(Y_d|X)] - TC(Y)`` (Eq. 27), with the batch
statistics of Eq. 11 on the clean encoder probabilities (``H(Y_d) = h(mean_b p_bd)``, ``H(Y_d|X) = mean_b h(p_bd)``,
nats; pathwise gradients). TC (Eq. 12) is estimated by the density-ratio trick (Eq. 13-14, Kim & Mnih 2018): a
discriminator ``C_psi`` (``nets.make_discriminator``, 2 logits) tells codes ``y ~ p_theta(y)`` (class 0) from codes
permuted across the batch in every dimension independently (class 1, :func:`permute_each_dimension`), and
``TC ~= mean_b [D_0(y_b) - D_1(y_b)]``. It has its own optimizer and is updated in ``train_step`` *before* the
encoder/decoder step, on the same clean codes (Algorithm 1, steps 5-8, then step 9); the state holds
``disc_params`` and ``disc_opt_state`` besides NECST's ``params``/``opt_state``/``step``.

``disc_input='sample'`` (default; the paper defines TC on binary codes and Algorithm 1 trains ``C_psi`` on sampled
codes): the discriminator sees the clean binary ``y``, and the encoder gradient of ``E[log r(y)]`` (``r`` the
discriminator's density ratio, held fixed) is the score function ``E[(log r(y) - b) grad log q_theta(y|x)]`` with a
leave-one-out batch baseline ``b``: exactly ``grad TC`` for the true ratio, no relaxation. ``'probs'`` (the
reference code's choice): the discriminator sees the probabilities ``p`` and TC is differentiated pathwise.

ABF is IABF with ``infomax_weight = 0`` (the discriminator still trains, to log TC). ``flip_rule='none'`` with
``infomax_weight = 0`` and ``clean_decoder_weight = 0`` is NECST exactly (same loss, gradients and samples per key).

Reference-code behaviours (``MinkaiXu/neural-coding-IABF``; ``../shared/research/reference-impls.md`` section 2),
each behind an option whose default is the paper:

* ``flip_rule='reference'`` (section 2.1, steps 2-3, 5): Gumbel-top-k positions (k = ``num_flips``, the
  ``flip_samples`` flag; README 7, code default 10) from ``softmax_bits(g^2)``, ``g`` the gradient of the
  *batch-mean* loss (mean over B x D cross-entropies for binary data, batch mean of per-image SSE otherwise);
  ``int(eps M)`` is ignored. Masked bits get ``eps_i* = 1`` (certain flip, ``1 - p``), others 0 (the reference's
  clipping to [1e-7, 1 - 1e-7] is unneeded in log space). Batch-mean gradients are tiny, so the selection is
  effectively uniform (2.1, "effective behaviour"). No flips at ``eps = 0`` (either rule), as in the reference.
* ``flip_direction='reference'`` (2.1, step 4, the bug): the direction test uses the Gumbel noise ``G`` instead of
  the bit, ``mask = selected & ((g >= 0 & G < 1) | (g < 0 & G >= 1))``; needs ``flip_rule='reference'``. With
  ``'paper'`` the reference selection is combined with the Eq. 25 mask.
* ``disc_shuffle='none'`` (2.2, the bug): the "permuted" codes are the codes themselves, so the discriminator learns
  nothing and the TC term tends to 0.
* ``disc_input='probs'`` (2.2): see above.
* ``clean_decoder_weight`` (``denw``, 2.3; reference 0.1, paper 0): the decoder loss gains ``denw x`` a loss of
  decoding the clean ``p`` (stop-gradient) against ``x``: the mean per-pixel cross-entropy (Bernoulli decoder), or
  for the Gaussian decoder the reference's sum over the *batch* axis (a bug), i.e. ``B x`` the mean per-pixel squared
  error of the sigmoid mean. Only the decoder gets its gradient.

The reference's separate encoder and decoder optimizers are one Adam here (the same update, ``methods/necst.py``);
its VIMCO on +loss is ``necst.estimator='vimco_reference'``.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from neuralcodes_jax import channels as channels_lib
from neuralcodes_jax import estimators, likelihoods, nets
from neuralcodes_jax.config_utils import check_choice as _check_choice
from neuralcodes_jax.config_utils import check_int
from neuralcodes_jax.methods import necst as necst_lib

PyTree = Any

FLIP_RULES = ("paper", "reference", "none")
FLIP_BUDGETS = ("paper", "masked", "on_top")
FLIP_DIRECTIONS = ("paper", "reference")
DISC_INPUTS = ("sample", "probs")
DISC_SHUFFLES = ("per_dimension", "none")

# Streams derived from the step key; the key itself draws the K VIMCO samples, exactly as NECST does.
_CLEAN_STREAM, _PERM_STREAM, _GUMBEL_STREAM = 1, 2, 3
# A batch marginal outside [0.01, 0.99] counts as a saturated (nearly constant) bit in the logs.
_SATURATION = 0.01


# ----------------------------------------------------------------------------------------------------------------
# Pure building blocks (tests and analysis use them directly).


def waterfill_noise(scores: jax.Array, total: float, iterations: int = 40) -> jax.Array:
    """Per-bit noise levels ``eps_i = min(1, c s_i)`` with ``sum_i eps_i = total`` (IABF, text after Eq. 30).

    ``f(c) = sum_i min(1, c s_i)`` is non-decreasing: ``c`` is bracketed by ``total / sum_i s_i`` and
    ``1 / min_{s_i > 0} s_i`` and bisected in ``log c`` (``iterations`` halvings, elementwise work only: no sort,
    which is slow on XLA:CPU); the capped set ``{i: c s_i >= 1}`` at the upper end of the bracket then gives ``c``
    exactly, ``c = (total - #capped) / sum_{uncapped} s_i``. If fewer than ``total`` bits have a positive score,
    those get 1 and the rest of the budget is spread evenly over the zero-score bits. Rows are independent.

    ``scores``: ``[..., M]`` non-negative weights (``|dL/dy_i|``). ``total``: the budget ``M eps`` in [0, M], a Python
    number (checked) or a traced scalar (a vmapped sweep's training noise; the caller checks it). Returns ``[..., M]``
    levels in [0, 1] summing to ``total`` along the last axis (to float rounding).
    """
    num_bits = scores.shape[-1]
    if isinstance(total, (int, float, np.integer, np.floating)):
        total = float(total)
        if not 0.0 <= total <= num_bits:
            raise ValueError(f"total must be in [0, {num_bits}] (the number of bits), got {total}")
    w = jnp.asarray(scores, jnp.result_type(scores.dtype, jnp.float32))
    tiny = jnp.finfo(w.dtype).tiny
    positive = w > 0
    num_positive = jnp.sum(positive, axis=-1, keepdims=True).astype(w.dtype)
    smallest = jnp.min(jnp.where(positive, w, jnp.inf), axis=-1, keepdims=True)
    lo = jnp.log(jnp.maximum(total, tiny) / jnp.maximum(jnp.sum(w, axis=-1, keepdims=True), tiny))  # f(c) <= total
    hi = -jnp.log(jnp.where(jnp.isfinite(smallest), smallest, 1.0))  # every positive bit capped
    hi = jnp.maximum(hi, lo)

    def halve(_, bracket):
        lo, hi = bracket
        mid = 0.5 * (lo + hi)
        below = jnp.sum(jnp.minimum(1.0, jnp.exp(mid) * w), axis=-1, keepdims=True) < total
        return jnp.where(below, mid, lo), jnp.where(below, hi, mid)

    _, hi = jax.lax.fori_loop(0, iterations, halve, (lo, hi))
    capped = jnp.exp(hi) * w >= 1.0
    rest = jnp.sum(jnp.where(capped, 0.0, w), axis=-1, keepdims=True)
    num_capped = jnp.sum(capped, axis=-1, keepdims=True).astype(w.dtype)
    c = jnp.where(rest > 0, (total - num_capped) / jnp.where(rest > 0, rest, 1.0), 0.0)
    proportional = jnp.where(capped, 1.0, jnp.minimum(1.0, c * w))
    spread = (total - num_positive) / jnp.maximum(num_bits - num_positive, 1.0)
    fallback = jnp.where(positive, 1.0, spread)
    return jnp.where(num_positive >= total, proportional, fallback)


def flip_direction_mask(y: jax.Array, grad: jax.Array) -> jax.Array:
    """Eq. 25: ``m = y XOR (sign(g)/2 + 1/2)``: flip a 0 whose gradient is positive or a 1 whose gradient is negative.

    ``g`` is the gradient of the *loss*, so allowed flips increase it to first order; ``g = 0`` gives no flip. Boolean.
    """
    bit = y > 0.5
    return (~bit & (grad > 0)) | (bit & (grad < 0))


def reference_flip_mask(
    key: jax.Array, grad: jax.Array, y: jax.Array, num_flips: int, direction: str = "reference"
) -> tuple[jax.Array, jax.Array]:
    """The public code's flip positions (reference-impls section 2.1): Gumbel-top-k of ``softmax_bits(g^2)``.

    ``grad``: ``[..., M]`` gradient of the (batch-mean) loss w.r.t. the clean code ``y`` (0/1); ``num_flips``: k per
    code (static); ``direction``: ``'reference'``, the coded test ``(g >= 0 & G < 1) | (g < 0 & G >= 1)`` on the
    Gumbel noise G (a bug: G overwrote the code), or ``'paper'``, the Eq. 25 mask on the code. Returns boolean
    ``[..., M]`` arrays ``(mask, selected)``, ``mask`` a subset of ``selected`` (k per row).
    """
    _check_choice("direction", direction, FLIP_DIRECTIONS)
    gumbel = jax.random.gumbel(key, grad.shape, grad.dtype)
    scores = jax.nn.log_softmax(jnp.square(grad), axis=-1) + gumbel
    kth = jax.lax.top_k(scores, num_flips)[0][..., -1:]
    selected = scores >= kth
    if direction == "paper":
        allowed = flip_direction_mask(y, grad)
    else:
        allowed = ((grad >= 0) & (gumbel < 1)) | ((grad < 0) & (gumbel >= 1))
    return selected & allowed, selected


def permute_each_dimension(key: jax.Array, codes: jax.Array) -> jax.Array:
    """Codes ``[B, M]``, each column permuted across the batch by its own uniform random permutation.

    Turns samples of ``p(y)`` into samples of ``prod_j p(y_j)`` (IABF Algorithm 1, step 6; FactorVAE). The M
    permutations are drawn together by a Fisher-Yates shuffle (``B - 1`` swaps per column, elementwise work; three
    times faster on XLA:CPU than M sort-based ``jax.random.permutation`` calls).
    """
    batch, num_bits = codes.shape
    cols = jnp.arange(num_bits)
    u = jax.random.uniform(key, (batch, num_bits))

    def swap(t, perm):
        i = batch - 1 - t
        j = jnp.minimum((u[i] * (i + 1)).astype(jnp.int32), i)  # uniform in [0, i], per column
        at_i, at_j = perm[i], perm[j, cols]
        return perm.at[i].set(at_j).at[j, cols].set(at_i)

    perms = jax.lax.fori_loop(0, batch - 1, swap, jnp.broadcast_to(jnp.arange(batch)[:, None], (batch, num_bits)))
    return jnp.take_along_axis(codes, perms, axis=0)


def bernoulli_entropy_from_logits(logits: jax.Array) -> jax.Array:
    """``h(sigmoid(a))`` in nats, ``p softplus(-a) + (1 - p) softplus(a)``: non-negative and exact for large |a|."""
    return jax.nn.sigmoid(logits) * jax.nn.softplus(-logits) + jax.nn.sigmoid(-logits) * jax.nn.softplus(logits)


def bernoulli_entropy(p: jax.Array) -> jax.Array:
    """``h(p)`` in nats for probabilities (clipped to [1e-7, 1 - 1e-7] so the gradient stays finite)."""
    p = jnp.clip(p, 1e-7, 1.0 - 1e-7)
    return -(p * jnp.log(p) + (1.0 - p) * jnp.log1p(-p))


def code_statistics(logits: jax.Array) -> dict[str, jax.Array]:
    """Batch statistics of Eq. 11 from encoder logits ``[B, M]`` (nats; differentiable).

    Returns ``marginals`` ``[M]`` (``mean_b p_bd``), ``h_y`` (``sum_d H(Y_d)``), ``h_y_given_x``
    (``sum_d H(Y_d|X)``) and ``mi`` (``sum_d I(X; Y_d)``, their difference).
    """
    marginals = jnp.mean(jax.nn.sigmoid(logits), axis=0)
    h_y = jnp.sum(bernoulli_entropy(marginals))
    h_y_given_x = jnp.mean(jnp.sum(bernoulli_entropy_from_logits(logits), axis=-1))
    return {"marginals": marginals, "h_y": h_y, "h_y_given_x": h_y_given_x, "mi": h_y - h_y_given_x}


def tc_discriminator_loss(logits_joint: jax.Array, logits_product: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Eq. 13 as a loss: ``1/2 [CE(D(y), 0) + CE(D(y*), 1)]`` averaged over the batch, and the accuracy.

    Class 0 are codes of ``p(y)``, class 1 permuted codes of ``prod_j p(y_j)`` (the reference's convention).
    """
    ce_joint = -jax.nn.log_softmax(logits_joint, axis=-1)[..., 0]
    ce_product = -jax.nn.log_softmax(logits_product, axis=-1)[..., 1]
    loss = 0.5 * (jnp.mean(ce_joint) + jnp.mean(ce_product))
    correct = jnp.concatenate(
        [logits_joint[..., 0] > logits_joint[..., 1], logits_product[..., 1] > logits_product[..., 0]]
    )
    return loss, jnp.mean(correct.astype(jnp.float32))


def tc_log_ratio(disc_logits: jax.Array) -> jax.Array:
    """Eq. 14 per code: ``log C/(1 - C) = D_0 - D_1``; its mean over codes of ``p(y)`` estimates TC (nats)."""
    return disc_logits[..., 0] - disc_logits[..., 1]


def bsc_per_bit_log_probs(logits: jax.Array, eps_bits: jax.Array) -> tuple[jax.Array, jax.Array]:
    """``(log q, log(1 - q))`` of Eq. 30, ``q = p (1 - 2 eps_i) + eps_i``, for per-bit noise ``eps_i`` in [0, 1]."""
    return channels_lib.bsc_noisy_log_probs(logits, eps_bits)


# ----------------------------------------------------------------------------------------------------------------
# The method.


@dataclasses.dataclass(frozen=True)
class IABFFields:
    """``iabf``: the adversarial flips and the infomax term (defaults = the paper; :class:`IABF` documents each)."""

    infomax_weight: float = 0.01  # lambda of Eq. 29 (0 = ABF)
    flip_rule: str = "paper"
    flip_direction: str = "paper"
    flip_budget: str = "paper"
    num_flips: int = 7
    disc_input: str = "sample"
    disc_shuffle: str = "per_dimension"
    clean_decoder_weight: float = 0.0
    disc_hidden: tuple[int, ...] = (500,)
    disc_lr: float | None = None  # None: optim.lr (the discriminator's optimizer is config.optim with it)


@dataclasses.dataclass(frozen=True)
class IABFConfig(necst_lib.NECSTConfig):
    iabf: IABFFields = IABFFields()


@dataclasses.dataclass(frozen=True, eq=False)
class IABF(necst_lib.NECST):
    """IABF / ABF as a trainer method (see ``methods/base.py`` for the contract and the module docstring).

    A subclass of NECST: encoder, decoder, channel (its eps is the training noise and the budget of the flips),
    likelihood, estimator, encoder L2 and evaluation are NECST's; :meth:`necst_loss` is NECST's loss.

    Attributes (besides NECST's):
      discriminator: the TC discriminator (``nets.make_discriminator``), codes [..., M] -> 2 logits.
      disc_optimizer: its optax optimizer.
      infomax_weight: lambda of Eq. 29 (0 = ABF).
      flip_rule: 'paper' (water-filling eps_i ~ |g_i|, Eq. 30), 'reference' (Gumbel-top-k of softmax(g^2),
        eps_i in {0, 1}) or 'none' (NECST's uniform channel noise).
      flip_direction: 'paper' (Eq. 25) or 'reference' (the coded test on the Gumbel noise).
      flip_budget: how the budget ``M eps`` becomes flips (module docstring): 'paper' (water-fill over all bits,
        then the Eq. 25 mask: about half the budget), 'masked' (water-fill over the masked bits only: the whole
        budget, or every masked bit when fewer) or 'on_top' (the paper's adversarial flips applied after the
        BSC(eps) noise, independently: per-bit flip probability ``eps + eps_i* - 2 eps eps_i*``).
      num_flips: k of the reference rule.
      disc_input: 'sample' (binary clean codes, score-function TC gradient) or 'probs' (reference).
      disc_shuffle: 'per_dimension' (Algorithm 1) or 'none' (the reference's no-op shuffle).
      clean_decoder_weight: the reference's ``denw`` (0 = paper).
    """

    discriminator: Any = None
    disc_optimizer: Any = None
    infomax_weight: float = IABFFields.infomax_weight
    flip_rule: str = IABFFields.flip_rule
    flip_direction: str = IABFFields.flip_direction
    flip_budget: str = IABFFields.flip_budget
    num_flips: int = IABFFields.num_flips
    disc_input: str = IABFFields.disc_input
    disc_shuffle: str = IABFFields.disc_shuffle
    clean_decoder_weight: float = IABFFields.clean_decoder_weight
    name: str = "iabf"

    CONFIG = IABFConfig

    def __post_init__(self):
        super().__post_init__()
        if self.discriminator is None or self.disc_optimizer is None:
            raise ValueError("IABF needs a discriminator and its optimizer (IABF.from_spec makes them)")
        _check_choice("iabf.flip_rule", self.flip_rule, FLIP_RULES)
        _check_choice("iabf.flip_direction", self.flip_direction, FLIP_DIRECTIONS)
        _check_choice("iabf.flip_budget", self.flip_budget, FLIP_BUDGETS)
        if self.flip_budget == "masked" and self.flip_rule != "paper":
            raise ValueError(
                f"iabf.flip_budget='masked' water-fills the budget and needs iabf.flip_rule='paper', "
                f"got flip_rule={self.flip_rule!r}"
            )
        _check_choice("iabf.disc_input", self.disc_input, DISC_INPUTS)
        _check_choice("iabf.disc_shuffle", self.disc_shuffle, DISC_SHUFFLES)
        if self.flip_direction == "reference" and self.flip_rule != "reference":
            raise ValueError(
                f"iabf.flip_direction='reference' tests the Gumbel noise of the reference selection "
                f"and needs iabf.flip_rule='reference', got flip_rule={self.flip_rule!r}"
            )
        if not (isinstance(self.num_flips, int) and self.num_flips >= 1):
            raise ValueError(f"iabf.num_flips must be an int >= 1, got {self.num_flips!r}")
        if not (self.infomax_weight >= 0 and math.isfinite(self.infomax_weight)):
            raise ValueError(f"iabf.infomax_weight must be a finite number >= 0, got {self.infomax_weight}")
        if not (self.clean_decoder_weight >= 0 and math.isfinite(self.clean_decoder_weight)):
            raise ValueError(f"iabf.clean_decoder_weight must be a finite number >= 0, got {self.clean_decoder_weight}")
        needs_bsc = self.flip_rule != "none" or self.clean_decoder_weight > 0
        if needs_bsc and self.channel.name != "bsc":
            raise ValueError(
                f"channel.name must be 'bsc' for IABF bit flips (iabf.flip_rule={self.flip_rule!r}) "
                f"and the clean-decoding term; got {self.channel.name!r} (use "
                f"iabf.flip_rule='none' and iabf.clean_decoder_weight=0 for other channels)"
            )

    @property
    def flips_enabled(self) -> bool | jax.Array:
        """Whether the VIMCO samples come from p_adv (no flips at training noise 0, as in the reference).

        A traced noise (a group of runs at several ``channel.eps``, a group value) gives a traced boolean: flips are
        computed for every run and zeroed where ``eps = 0``, which equals NECST's channel at noise 0.
        """
        if self.flip_rule == "none":
            return False
        eps = self.channel.eps
        if isinstance(eps, (int, float, np.integer, np.floating)):
            return bool(eps > 0)
        return jnp.asarray(eps) > 0

    # ----------------------------------------------------------------------------------------------------------
    # Pieces of a step.

    def clean_code(self, logits: jax.Array, key: jax.Array) -> jax.Array:
        """One clean code y ~ Bern(sigmoid(logits)) per example, float32 0/1 [B, M] (Algorithm 1, step 5)."""
        return jax.random.bernoulli(key, jax.nn.sigmoid(logits)).astype(jnp.float32)

    def reconstruction_gradient(self, params: PyTree, x: jax.Array, y: jax.Array) -> jax.Array:
        """Eq. 23: ``dL/dy`` of ``L = sum_b -log q_phi(x_b | y_b)`` at clean codes ``y`` [B, M]; row b is example b's.

        Parameters are held fixed (stop-gradient).
        """
        dec = {"decoder": jax.lax.stop_gradient(params["decoder"])}

        def loss_of_codes(y_in):
            out = self.decode_float(dec, y_in)
            return -jnp.sum(self.log_likelihood(out, x))

        return jax.grad(loss_of_codes)(self.channel.decoder_input(y))

    def _reference_gradient_scale(self, batch: int) -> float:
        """Factor turning the per-example NLL gradient into the reference's batch-mean loss gradient."""
        if self.likelihood == "bernoulli":
            return 1.0 / (batch * math.prod(self.output_shape))
        return 2.0 * self.sigma2 / batch  # -log p = SSE / (2 sigma2) + const

    def flip_noise(
        self, params: PyTree, x: jax.Array, y: jax.Array, key: jax.Array, active: jax.Array | None = None
    ) -> tuple[jax.Array, dict[str, jax.Array]]:
        """Per-bit noise ``eps*`` [B, M] of Eq. 30 (or the reference mask) and flip statistics; ``active``: see
        :attr:`flips_enabled`."""
        grad = self.reconstruction_gradient(params, x, y)
        num_bits = y.shape[-1]
        eps = self.channel.eps
        if self.flip_rule == "paper":
            mask = flip_direction_mask(y, grad)
            if self.flip_budget == "masked":
                # option (a): the whole budget over the masked bits (every masked bit when they are fewer)
                num_masked = jnp.sum(mask, axis=-1, keepdims=True).astype(grad.dtype)
                eps_bits = waterfill_noise(jnp.abs(grad) * mask, jnp.minimum(num_bits * eps, num_masked))
            else:
                eps_bits = waterfill_noise(jnp.abs(grad), num_bits * eps)
            eps_star = eps_bits * mask
            extra = {
                "flip_eps_max": jnp.mean(jnp.max(eps_bits, axis=-1)),
                "flip_capped_frac": jnp.mean((eps_bits >= 1.0).astype(jnp.float32)),
            }
        else:
            grad = grad * self._reference_gradient_scale(x.shape[0])
            mask, _ = reference_flip_mask(key, grad, y, self.num_flips, self.flip_direction)
            eps_star = mask.astype(jnp.float32)
            extra = {}
        if self.flip_budget == "on_top":
            # option (b): BSC(eps) noise, then the adversarial flips, independently (XOR of two flips)
            eps_star = eps + eps_star - 2.0 * eps * eps_star
        if active is not None:
            mask = mask & active
            eps_star = jnp.where(active, eps_star, 0.0)
        metrics = {
            "flip_rate": jnp.mean(eps_star),
            "flip_mask_frac": jnp.mean(mask.astype(jnp.float32)),
            "flip_expected_bits": jnp.mean(jnp.sum(eps_star, axis=-1)),
            **extra,
        }
        return jax.lax.stop_gradient(eps_star), metrics

    def adversarial_reconstruction_loss(
        self, params: PyTree, x: jax.Array, key: jax.Array, eps_star: jax.Array, logits: jax.Array | None = None
    ) -> tuple[jax.Array, dict[str, jax.Array]]:
        """Surrogate of ``-L^K_rec`` (Eq. 31) with K samples from ``p_adv`` (Eq. 30), plus encoder L2.

        Inverse-CDF samples as ``channels.BSC.sample``, so ``eps_i* = eps`` reproduces NECST's samples for a key.
        ``logits``: the encoder's output if already computed (default: ``encode(params, x)``).
        """
        base = self
        if logits is None:
            logits = base.encode(params, x)
        log_q1, log_q0 = bsc_per_bit_log_probs(logits, eps_star)  # [B, M]
        u = jax.random.uniform(key, (base.num_samples,) + logits.shape, log_q0.dtype)
        y = jax.lax.stop_gradient((u >= jnp.exp(log_q0)).astype(jnp.int32))  # [K, B, M]
        log_q = jnp.sum(jnp.where(y == 1, log_q1, log_q0), axis=-1)  # [K, B]
        out = base.decode(params, y)
        log_lik = base.log_likelihood(out, x[None])  # [K, B]
        per_example, objective = estimators.multi_sample_loss(base.estimator, log_lik, log_q)
        l2 = base.encoder_l2 * necst_lib.l2_of_kernels(params["encoder"])
        loss = jnp.mean(per_example) + l2
        metrics = {
            "loss": loss,
            "objective": jnp.mean(objective),
            "nll": -jnp.mean(log_lik),
            "encoder_l2": l2,
            "code_entropy_bits": jnp.mean(jnp.sum(bernoulli_entropy_from_logits(logits), axis=-1)) / math.log(2),
            "code_mean": jnp.mean(jax.nn.sigmoid(logits)),
        }
        return loss, metrics

    def clean_decoder_loss(self, params: PyTree, x: jax.Array, probs: jax.Array) -> jax.Array:
        """The reference's extra decoder term (``denw``): decode the clean probabilities p against x."""
        out = self.decode_float(params, jax.lax.stop_gradient(probs))
        nd = len(self.output_shape)
        if self.likelihood == "bernoulli":
            return jnp.mean(likelihoods.per_pixel_bce(out, x, event_ndim=nd))
        return x.shape[0] * jnp.mean(likelihoods.per_pixel_mse(out, x, event_ndim=nd))  # sum over the batch axis

    def discriminator_update(
        self, disc_params: PyTree, disc_opt_state: PyTree, codes: jax.Array, key: jax.Array
    ) -> tuple[PyTree, PyTree, dict[str, jax.Array]]:
        """One optimizer step of the TC discriminator on codes vs per-dimension permuted codes (Algorithm 1, 6-8)."""
        codes = jax.lax.stop_gradient(codes)
        shuffled = permute_each_dimension(key, codes) if self.disc_shuffle == "per_dimension" else codes

        def loss_fn(dp):
            logits_joint = self.discriminator.apply({"params": dp}, codes)
            logits_product = self.discriminator.apply({"params": dp}, shuffled)
            return tc_discriminator_loss(logits_joint, logits_product)

        (loss, accuracy), grads = jax.value_and_grad(loss_fn, has_aux=True)(disc_params)
        disc_params, disc_opt_state = self.apply_gradients(self.disc_optimizer, disc_params, disc_opt_state, grads)
        return (
            disc_params,
            disc_opt_state,
            {"disc_loss": loss, "disc_accuracy": accuracy, "disc_grad_norm": optax.tree.norm(grads)},
        )

    def tc_term(self, disc_params: PyTree, logits: jax.Array, y: jax.Array) -> tuple[jax.Array, jax.Array]:
        """``(TC estimate, term to minimise)``: equal in value; the second carries the encoder gradient of TC.

        ``'sample'``: score function, leave-one-out baseline, on clean codes y; ``'probs'``: pathwise through p.
        """
        disc_params = jax.lax.stop_gradient(disc_params)
        if self.disc_input == "probs":
            t = tc_log_ratio(self.discriminator.apply({"params": disc_params}, jax.nn.sigmoid(logits)))
            tc = jnp.mean(t)
            return jax.lax.stop_gradient(tc), tc
        t = jax.lax.stop_gradient(tc_log_ratio(self.discriminator.apply({"params": disc_params}, y)))  # [B]
        batch = t.shape[0]
        baseline = (jnp.sum(t) - t) / max(batch - 1, 1)
        log_q = jnp.sum(y * jax.nn.log_sigmoid(logits) + (1.0 - y) * jax.nn.log_sigmoid(-logits), axis=-1)
        surrogate = jnp.mean((t - baseline) * log_q)
        tc = jnp.mean(t)
        return tc, tc + surrogate - jax.lax.stop_gradient(surrogate)

    def iabf_loss(
        self,
        params: PyTree,
        disc_params: PyTree,
        x: jax.Array,
        key: jax.Array,
        y_clean: jax.Array,
        eps_star: jax.Array | None,
    ) -> tuple[jax.Array, dict[str, jax.Array]]:
        """``-(L_rec + lambda L_info)`` (Eq. 29) plus encoder L2 (and ``denw``), and metrics; ``eps_star=None``: NECST's
        channel."""
        return self.iabf_loss_from_logits(params, self.encode(params, x), disc_params, x, key, y_clean, eps_star)

    def iabf_loss_from_logits(
        self,
        params: PyTree,
        logits: jax.Array,
        disc_params: PyTree,
        x: jax.Array,
        key: jax.Array,
        y_clean: jax.Array,
        eps_star: jax.Array | None,
    ) -> tuple[jax.Array, dict[str, jax.Array]]:
        """:meth:`iabf_loss` with the encoder logits given: every term reads the one encoder output, so a step runs
        the encoder forward and backward once (:meth:`train_step` pulls the logits' gradient back by a VJP)."""
        if eps_star is None:
            recon, metrics = necst_lib.NECST.loss_from_logits(self, params, logits, x, key)
        else:
            recon, metrics = self.adversarial_reconstruction_loss(params, x, key, eps_star, logits)
        stats = code_statistics(logits)
        tc, tc_objective = self.tc_term(disc_params, logits, y_clean)
        loss = recon
        if self.infomax_weight > 0:
            loss = loss + self.infomax_weight * (tc_objective - stats["mi"])
        if self.clean_decoder_weight > 0:
            clean = self.clean_decoder_loss(params, x, jax.nn.sigmoid(logits))
            loss = loss + self.clean_decoder_weight * clean
            metrics["clean_decoder_loss"] = clean
        marginals = jax.lax.stop_gradient(stats["marginals"])
        saturated = (marginals < _SATURATION) | (marginals > 1.0 - _SATURATION)
        metrics.update(
            {
                "loss": loss,
                "recon_loss": recon,
                "h_y_nats": stats["h_y"],
                "h_y_given_x_nats": stats["h_y_given_x"],
                "mi_nats": stats["mi"],
                "tc_nats": tc,
                "info_nats": stats["mi"] - tc,
                "marginal_min": jnp.min(marginals),
                "marginal_max": jnp.max(marginals),
                "marginal_std": jnp.std(marginals),
                "saturated_bits_frac": jnp.mean(saturated.astype(jnp.float32)),
            }
        )
        return loss, jax.lax.stop_gradient(metrics)

    # ----------------------------------------------------------------------------------------------------------
    # The trainer contract.

    def init(self, key: jax.Array, example_x: jax.Array) -> PyTree:
        """NECST's state (same parameters as ``base.init(key, ...)``) plus the discriminator and its optimizer."""
        state = super().init(key, example_x)
        num_bits = self.encode(state["params"], example_x).shape[-1]
        disc_params = self.discriminator.init(jax.random.fold_in(key, 1), jnp.zeros((1, num_bits), jnp.float32))[
            "params"
        ]
        state["disc_params"] = disc_params
        state["disc_opt_state"] = self.disc_optimizer.init(disc_params)
        return state

    def necst_loss(self, params: PyTree, x: jax.Array, key: jax.Array) -> tuple[jax.Array, dict[str, jax.Array]]:
        """NECST's loss (Eq. 6 of NECST with the uniform channel noise)."""
        return necst_lib.NECST.loss(self, params, x, key)

    def train_step(
        self, state: PyTree, x: jax.Array, key: jax.Array, stage: int = 0
    ) -> tuple[PyTree, dict[str, jax.Array]]:
        """Discriminator step, then the encoder/decoder step with the updated discriminator (Algorithm 1)."""
        params = state["params"]
        # One encoder pass serves the clean code, the flips and the loss; its gradient is pulled back by the VJP.
        logits, encoder_vjp = jax.vjp(lambda e: self.encode({"encoder": e}, x), params["encoder"])
        y_clean = self.clean_code(logits, jax.random.fold_in(key, _CLEAN_STREAM))
        disc_codes = y_clean if self.disc_input == "sample" else jax.nn.sigmoid(logits)
        disc_params, disc_opt_state, disc_metrics = self.discriminator_update(
            state["disc_params"], state["disc_opt_state"], disc_codes, jax.random.fold_in(key, _PERM_STREAM)
        )
        eps_star, flip_metrics = None, {}
        flips = self.flips_enabled
        if flips is not False:
            eps_star, flip_metrics = self.flip_noise(
                params, x, y_clean, jax.random.fold_in(key, _GUMBEL_STREAM), active=None if flips is True else flips
            )
        (_, metrics), (grads, logits_grad) = jax.value_and_grad(
            self.iabf_loss_from_logits, argnums=(0, 1), has_aux=True
        )(params, logits, disc_params, x, key, y_clean, eps_star)
        grads = {**grads, "encoder": jax.tree.map(jnp.add, grads["encoder"], encoder_vjp(logits_grad)[0])}
        params, opt_state = self.apply_gradients(self.optimizer, params, state["opt_state"], grads)
        metrics.update(disc_metrics)
        metrics.update(flip_metrics)
        metrics["grad_norm"] = optax.tree.norm(grads)
        new_state = {
            "params": params,
            "opt_state": opt_state,
            "step": state["step"] + 1,
            "disc_params": disc_params,
            "disc_opt_state": disc_opt_state,
        }
        return new_state, metrics

    def valid_loss(self, params: PyTree, x: jax.Array, key: jax.Array) -> jax.Array:
        """NECST's criterion: -log p(x|y) for one BSC(eps) sample at the training noise, per example."""
        return super().valid_loss(params, x, key)

    @classmethod
    def from_spec(cls, spec: IABFConfig, data, **fields) -> IABF:
        """IABF from NECST's sections plus ``iabf`` (``experiments/iabf/table1.py``)."""
        cfg = spec.iabf
        if cfg.flip_rule == "reference" and not 1 <= cfg.num_flips <= spec.model.bits:
            raise ValueError(f"iabf.num_flips must be in [1, model.bits={spec.model.bits}], got {cfg.num_flips}")
        for h in cfg.disc_hidden:
            check_int("iabf.disc_hidden", h, 1)
        disc_lr = spec.optim.lr if cfg.disc_lr is None else cfg.disc_lr
        return super().from_spec(
            spec,
            data,
            discriminator=nets.make_discriminator(hidden=tuple(int(h) for h in cfg.disc_hidden)),
            disc_optimizer=necst_lib.make_optimizer(spec.optim, lr=disc_lr),
            infomax_weight=float(cfg.infomax_weight),
            flip_rule=cfg.flip_rule,
            flip_direction=cfg.flip_direction,
            flip_budget=cfg.flip_budget,
            num_flips=int(cfg.num_flips),
            disc_input=cfg.disc_input,
            disc_shuffle=cfg.disc_shuffle,
            clean_decoder_weight=float(cfg.clean_decoder_weight),
            **fields,
        )


METHOD = IABF
