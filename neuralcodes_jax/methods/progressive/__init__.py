"""Binary autoencoder codes learned by progressive training (arXiv 2511.09221), with STE and Gumbel baselines.

Model (arXiv 2511.09221, the (7,4) BSC autoencoder): a message ``m in {0..M-1}``, ``M = 2^k``, carrying the
``k``-bit label of ``m`` (most significant bit first, as everywhere in :mod:`neuralcodes_jax.codes`) ->
encoder MLP -> ``n`` logits ``a`` -> codeword -> channel -> decoder MLP -> message.

Representations (documented choices; the paper does not give them):

* **Message input** (``message_input``): ``"one_hot"`` (default; the ``M``-way one-hot vector, computed as a row
  gather of the first kernel, which is the same product) or ``"bits"`` (the ``k`` label bits as ``+-1``).
* **Encoder output**: soft bit ``c = sigmoid(a) in [0, 1]``; the binarized bit is ``b = 1[a > 0]`` (the hard
  threshold of ``c`` at 1/2). On the channel a bit is sent as the BPSK symbol ``x = 1 - 2c`` (``0 -> +1``,
  ``1 -> -1``, the convention of :mod:`neuralcodes_jax.channels`), so ``x = -tanh(a / 2) in [-1, 1]``.
* **Decoder input**: the signed received value. On the BSC a received bit ``y`` is fed as ``1 - 2y in {-1, +1}``;
  on the AWGN channel the soft value ``r = (1 - 2b) + sigma * noise``.
* **Message decoder** (``decoder_output``): ``"softmax"`` (default; ``M`` logits, cross-entropy, decision
  = argmax) or ``"bitwise"`` (``k`` logits of the label bits, summed binary cross-entropies, decision = the
  thresholded bits). With ``"softmax"`` even a linear decoder can be exactly ML on the BSC: the Hamming
  distance to codeword ``m`` is ``(n - <z, 1 - 2 x_m>) / 2`` for ``z = 1 - 2y``.

Trainings (``training``):

* ``"progressive"`` (the paper's method):

  - **Stage 1** (continuous pretraining, ``stage1_steps``): the soft codeword ``c`` goes through a
    differentiable surrogate of the channel. For the BSC(p) (``relaxation``):

    + ``"flip_gauss"`` (default, the "soft BSC"): ``z = (1 - 2c)(1 - 2e) + sigma_r n`` with exact
      Bernoulli(p) flips ``e`` and ``n ~ N(0, 1)``. The flip is the multilinear extension of XOR,
      ``c + e - 2ce``, so on binary ``c`` and ``sigma_r = 0`` this *is* the BSC, the flips are sampled exactly
      (nothing is relaxed), and the channel is linear in ``c`` given the noise. The Gaussian term
      (``relax_sigma``) is needed: a sign flip keeps ``|x|``, so without it a continuous encoder can hide the
      message in the amplitudes ``|x_j|`` (e.g. soft bits parked at 1/2), which no flip disturbs and which
      binarization destroys.
    + ``"awgn"``: ``z = (1 - 2c) + sigma_p n`` with ``sigma_p = 1 / Q^-1(p)``, the BPSK-AWGN channel whose
      hard decisions form the BSC(p) (a soft-decision objective; it gave worse codes).
    + ``"exact"`` (``n <= 12``): the soft bit is sent as a ``Bernoulli(c)`` bit over the BSC and the expected
      loss is computed exactly by enumerating the ``2^n`` received words (a polynomial in ``c``). From the
      uninformative start ``c ~ 1/2`` it collapses codewords (documented negative result).

    **Progressive binarization** (``logit_penalty``): the stage-1 loss carries ``lambda (1 - t/T) mean(a^2)``
    on the encoder logits. It keeps the soft codewords inside the cube early on and fades linearly to 0, so
    they reach the corners only gradually. This is what makes stage 1 find good codes: with a bounded output,
    every corner of the cube is a local minimum of the relaxed loss once the sigmoid saturates (at a corner
    the derivative along coordinate ``j`` comes only from codewords on the other side of ``j``, which push
    it outward), so an encoder that saturates early keeps the nearly random code it had after a few hundred
    steps. The slower the fade (longer stage 1), the more often the code found is Hamming-equivalent
    (``results/progressive_7_4.md``). A low training crossover (``train_p`` about 0.01-0.02) works best: the
    loss is then dominated by the closest codeword pairs.

    For the AWGN channel stage 1 is the AWGN channel itself with the continuous symbols ``1 - 2c``.
  - **Binarization**: ``b = 1[a > 0]`` for every message gives the codebook ``[M, n]``.
  - **Stage 2** (``stage2_steps``): fine-tuning with the outputs binarized and *no gradient approximation*.
    The hard threshold has zero derivative almost everywhere, so the exact gradient of the loss with respect
    to the encoder is zero: the codebook is frozen from the moment of binarization, and stage 2 trains the
    decoder only, on the exact channel (hard codewords through real BSC flips, or real AWGN noise). What stage 2
    refines is the decoder, toward the ML decoder of the frozen codebook (the minimiser of the expected
    cross-entropy is the posterior ``P(m | y)``, whose argmax is the ML decision). It works because stage 1 has
    already moved the soft codewords close to the corners (in the (7,4) runs ``min(c, 1 - c)`` averages about
    0.08): the code's quality (distances, BLER under ML) is fixed at binarization time, and stage 2 only
    removes the mismatch between the decoder trained on soft inputs and the hard channel outputs it now sees.
* ``"straight_through"``: the same network trained from scratch on the exact channel with hard codewords in the
  forward pass; backward pass through ``c_soft`` (``ste_gradient``: ``"sigmoid"`` uses ``dc/da = sigmoid'(a)``,
  ``"identity"`` uses ``dc/da = 1``), i.e. ``c = c_soft + stop_gradient(b - c_soft)``.
* ``"gumbel"``: binary Concrete (Gumbel-softmax) relaxation of ``b ~ Bernoulli(sigmoid(a))``,
  ``c = sigmoid((a + L) / tau)`` with logistic noise ``L`` and a temperature annealed geometrically from
  ``gumbel_tau_start`` to ``gumbel_tau_end``; the relaxed bits go through the exact flips above.
  ``gumbel_hard=True`` sends ``1[c > 1/2]`` forward (straight-through Gumbel). The codebook is the mode
  ``1[a > 0]``.

Both baselines end with the same decoder-only stage 2 as progressive training, so their neural decoders are
comparable; their codebooks are fixed when stage 1 ends. The annealed ``logit_penalty`` applies to every
method (the configs give each baseline its own value, see :func:`spec_from_config`).

As a method (:class:`Progressive`), stage 1 and stage 2 are the two stages of the one training loop
(``train.train_group``), which vmaps the seeds of a group and splits them over the devices; the exact report of
the learned codebooks is the ``codebook`` evaluator (``evaluators/codebook.py``). The step is written for the
vmapped form on XLA:CPU, where the (7,4) model's kernels are tiny (each choice is the same function; measured in
``results/sweep_vmap.md``): all of a step's randomness is one ``jax.random.bits`` draw ``[width, B]`` converted
with ``jax.random``'s own transforms, per-example arrays are ``[n, B]`` (XLA:CPU vectorizes along the minor axis
only); the encoder runs once per message and rows are selected by one-hot matmuls (a gather's gradient is a
scatter); kernels are stored with their wider dimension last (:func:`layer_kernel`).

The package, along its seams: ``config`` (the typed config sections and the flat ``ProgressiveSpec``),
``network`` (encoder and decoder), ``training`` (one bits draw per step and its conversions, the channel
relaxations, the stage losses) and the method here. The networks are plain arrays rather than ``nets/`` Flax
modules on purpose: Flax's ``Dense`` stores kernels ``[in, out]``, and the batched kernel-gradient dots of the
vmapped step with the narrow dimension (7 or 16) minor ran at a third of the speed of the wide-minor layout used
here (``"wt"`` kernels, ``layer_kernel``); with the one-hot row selection that took the vmapped (7,4) step from
about 250 to 41 us per seed (``results/sweep_vmap.md``).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp
import optax

from neuralcodes_jax import channels
from neuralcodes_jax.methods import base as base_lib
from neuralcodes_jax.methods.progressive.config import (  # noqa: F401  (the package's API)
    ACTIVATIONS,
    CHANNELS,
    CONFIG_PATHS,
    DECODER_OUTPUTS,
    ENCODERS,
    LR_SCHEDULES,
    MAX_EXACT_RELAXATION_BITS,
    MAX_MESSAGE_BITS,
    MAX_ONE_HOT_BITS,
    MAX_POSTERIOR_BITS,
    MAX_TABLE_BITS,
    MESSAGE_INPUTS,
    PER_TRAINING_FIELDS,
    RELAXATIONS,
    STE_GRADIENTS,
    TRAINING_DECODERS,
    TRAININGS,
    ChannelFields,
    GumbelFields,
    ModelFields,
    ProgressiveConfig,
    ProgressiveSpec,
    StraightThroughFields,
    TrainFields,
    spec_from_config,
    warm_start_codebook,
)
from neuralcodes_jax.methods.progressive.network import (  # noqa: F401
    _batch_encoder_logits,
    all_messages,
    binary_codebook,
    decode,
    decoder_logits,
    encoder_logits,
    encoder_table,
    init_params,
    layer_kernel,
    message_bits,
    soft_codebook,
)
from neuralcodes_jax.methods.progressive.training import (  # noqa: F401
    _BitRows,
    _channel_exact,
    _optimizer,
    _stage1_loss,
    _stage2_loss,
    all_words,
    bernoulli_from_bits,
    encoder_update_gate,
    gumbel_temperature,
    ideal_decoder_loss,
    logistic_from_bits,
    normal_from_bits,
    posterior_logits,
    relax_awgn_sigma,
    sample_messages,
    stage1_crossover,
    uniform_from_bits,
)

PyTree = Any


# ------------------------------------------------------------------------------------------- the method


@dataclasses.dataclass(frozen=True, eq=False)
class Progressive(base_lib.Method):
    """Learned binary codes as a trainer method (``config.method = 'progressive'``; ``config.training`` picks
    progressive training, straight-through or Gumbel-softmax, module docstring).

    Two stages (``stages()``): stage 1 trains encoder and decoder (``train.stage1_steps``); stage 2
    (``train.stage2_steps``, omitted when 0) trains the decoder on the binarized codebook with its own Adam
    (``opt2_state``). The inputs are messages drawn from the step key (no dataset). The state also keeps the
    decoder as stage 1 left it (``stage1_decoder``), so the report can say whether stage 2 improved it. A group of
    runs may vary the seed and the training crossover ``channel.train_p`` (traced). Evaluation: the ``codebook``
    evaluator (exact report of every learned codebook).
    """

    spec: ProgressiveSpec
    name: str = "progressive"

    CONFIG = ProgressiveConfig
    group_fields = ("channel.train_p",)
    uses_data = False
    has_validation = False
    evaluator = "codebook"

    @property
    def channel(self):
        """The training channel: ``channels.BSC(train_p)`` for the BSC; ``None`` for AWGN (no channel object)."""
        if self.spec.channel == "bsc":
            return channels.BSC(float(self.spec.train_p))
        return None

    @classmethod
    def from_spec(cls, spec: ProgressiveConfig, data: Any = None) -> Progressive:
        return cls(spec=spec_from_config(spec))

    def _bind(self, values) -> Progressive:
        spec = dataclasses.replace(self.spec)  # a copy: train_p may become a tracer (no validation)
        object.__setattr__(spec, "train_p", values["channel.train_p"])
        return dataclasses.replace(self, spec=spec)

    # -- what the codebook evaluator reads ------------------------------------------------------------------
    def codebook(self, params: PyTree) -> jax.Array:
        """The binarized codebook ``[M, n]`` (row ``m`` = codeword of message ``m``)."""
        return binary_codebook(params, self.spec)

    def soft_codebook(self, params: PyTree) -> jax.Array:
        """The soft codewords ``sigmoid(a)`` ``[M, n]`` before binarization."""
        return soft_codebook(params, self.spec)

    def stage1_objective(self, params: PyTree, key: jax.Array) -> jax.Array:
        """The stage-1 loss of one batch drawn from ``key`` at the end of stage 1 (the logit penalty is 0 there)."""
        return _stage1_loss(params, key, jnp.asarray(self.spec.stage1_steps), self.spec)[0]

    def stage1_decoder(self, state: PyTree) -> PyTree:
        """The decoder's parameters as stage 1 left them (stacked over a group's runs when ``state`` is)."""
        return state["stage1_decoder"]

    def stages(self) -> tuple[base_lib.Stage, ...]:
        out = (base_lib.Stage("stage1", self.spec.stage1_steps),)
        if self.spec.stage2_steps > 0:
            out += (base_lib.Stage("stage2", self.spec.stage2_steps),)
        return out

    def optimizers(self) -> tuple[optax.GradientTransformation, optax.GradientTransformation]:
        s = self.spec
        return (_optimizer(s.lr, s.stage1_steps, s.lr_schedule), _optimizer(s.stage2_lr, s.stage2_steps, s.lr_schedule))

    def init(self, key: jax.Array, example_x: Any = None) -> PyTree:
        params = init_params(key, self.spec)
        opt1, opt2 = self.optimizers()
        return {
            "params": params,
            "opt_state": opt1.init(params),
            "opt2_state": opt2.init(params["decoder"]),
            "stage1_decoder": params["decoder"],
            "step": jnp.zeros((), jnp.int32),
        }

    def train_step(self, state: PyTree, x: Any, key: jax.Array, stage: int = 0) -> tuple[PyTree, dict]:
        spec = self.spec
        opt1, opt2 = self.optimizers()
        params = state["params"]
        new = dict(state, step=state["step"] + 1)
        if stage == 0:
            (loss, bler), grads = jax.value_and_grad(_stage1_loss, has_aux=True)(params, key, state["step"], spec)
            scale = None
            gated = spec.decoder_first_fraction > 0 or spec.decoder_steps > 1
            if spec.encoder_lr_scale != 1.0 or gated:
                factor = jnp.asarray(spec.encoder_lr_scale, jnp.float32)
                if gated:  # decoder-first start and K decoder updates per encoder update
                    factor = factor * encoder_update_gate(state["step"], spec)

                def scale(u):
                    return {"encoder": jax.tree.map(lambda v: v * factor, u["encoder"]), "decoder": u["decoder"]}

            new["params"], new["opt_state"] = self.apply_gradients(opt1, params, state["opt_state"], grads, scale)
            new["stage1_decoder"] = new["params"]["decoder"]
        else:
            # The encoder output is the hard threshold, whose exact gradient is zero: only the decoder moves.
            hard = binary_codebook(params, spec).astype(jnp.float32)
            (loss, bler), grads = jax.value_and_grad(_stage2_loss, has_aux=True)(params["decoder"], hard, key, spec)
            decoder, new["opt2_state"] = self.apply_gradients(opt2, params["decoder"], state["opt2_state"], grads)
            new["params"] = {"encoder": params["encoder"], "decoder": decoder}
        return new, {"loss": loss, "bler": bler}


METHOD = Progressive
