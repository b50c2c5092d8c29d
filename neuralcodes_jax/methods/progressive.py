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
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from neuralcodes_jax import channels, specs
from neuralcodes_jax.codes import analysis as codes_analysis
from neuralcodes_jax.codes import relaxed
from neuralcodes_jax.config_utils import check_bool as _check_bool
from neuralcodes_jax.config_utils import check_choice as _check_choice
from neuralcodes_jax.config_utils import check_int as _check_int
from neuralcodes_jax.config_utils import check_positive as _check_positive
from neuralcodes_jax.config_utils import check_real as _check_real
from neuralcodes_jax.methods import base as base_lib

PyTree = Any

TRAININGS = ("progressive", "straight_through", "gumbel")
CHANNELS = ("bsc", "awgn")
RELAXATIONS = ("exact", "flip_gauss", "awgn")
MESSAGE_INPUTS = ("one_hot", "bits")
ENCODERS = ("mlp", "linear")
DECODER_OUTPUTS = ("softmax", "bitwise")
ACTIVATIONS = ("relu", "leaky_relu", "elu", "tanh", "linear")
STE_GRADIENTS = ("sigmoid", "identity")
LR_SCHEDULES = ("constant", "cosine")

#: Largest ``k`` for the ``M = 2^k``-way one-hot input or softmax output.
MAX_ONE_HOT_BITS = 16
#: Largest ``n`` for which :func:`decoder_table` enumerates all received words.
MAX_TABLE_BITS = 24
#: Largest ``n`` of ``relaxation="exact"`` (every step enumerates the ``2^n`` received words).
MAX_EXACT_RELAXATION_BITS = 12
#: Largest ``k``: a training message is the top ``k`` bits of one uniform 32-bit word (:func:`sample_messages`).
MAX_MESSAGE_BITS = 30


# ---------------------------------------------------------------------------------------------- config


@dataclasses.dataclass(frozen=True)
class ChannelFields:
    """``channel``: the training channel and the stage-1 relaxation of the BSC."""

    name: str = "bsc"                   # 'bsc' | 'awgn'
    train_p: float = 0.02               # BSC crossover of training (stage 1 and stage 2)
    train_ebn0_db: float = 4.0          # AWGN only
    relaxation: str = "flip_gauss"      # stage-1 BSC surrogate: 'flip_gauss' | 'awgn' | 'exact'
    relax_sigma: float = 0.4            # Gaussian term of 'flip_gauss'
    train_p_start: float = 0.0          # > 0: stage-1 crossover annealed from this value to train_p


@dataclasses.dataclass(frozen=True)
class ModelFields:
    """``model``: the encoder and decoder networks."""

    message_input: str = "one_hot"      # 'one_hot' | 'bits'
    encoder: str = "mlp"                # 'mlp' (the paper) | 'linear' (relaxed systematic generator [I | P])
    decoder_output: str = "softmax"     # 'softmax' | 'bitwise'
    encoder_hidden: tuple[int, ...] = (128,)
    decoder_hidden: tuple[int, ...] = (128,)
    activation: str = "relu"
    init_scale: float = 1.0
    warm_start: str = ""                # '' or a code (a reference name or a JSON file of generators)
    warm_start_scale: float = 4.0
    warm_start_steps: int = 1000


@dataclasses.dataclass(frozen=True)
class TrainFields:
    """``train`` fields of the method (the loop's own are ``specs.LoopTrain``)."""

    stage1_steps: int = 16000
    stage2_steps: int = 1000
    batch_size: int = 256
    full_batch: bool = False
    lr: float = 3e-3
    stage2_lr: float = 1e-3
    lr_schedule: str = "constant"
    encoder_lr_scale: float = 1.0
    logit_penalty: float = 3.0          # progressive binarization: lambda of lambda (1 - t/T) mean(a^2)
    logit_noise: float = 0.0


@dataclasses.dataclass(frozen=True)
class StraightThroughFields:
    """``straight_through``: the STE baseline; ``None`` fields take the shared ``train`` value."""

    # 'sigmoid' | 'identity' (identity: 1/20 vs 0/20 Hamming-equivalent seeds at (7,4), tuned at commit 65b49d4)
    gradient: str = "identity"
    logit_penalty: float | None = None
    lr: float | None = None
    stage1_steps: int | None = None


@dataclasses.dataclass(frozen=True)
class GumbelFields:
    """``gumbel``: the binary-Concrete baseline; ``None`` fields take the shared ``train`` value."""

    tau_start: float = 1.0
    tau_end: float = 0.1
    hard: bool = False
    logit_penalty: float | None = 0.3   # best of {0, 0.1, 0.3, 1, 3} for (7,4); the shared 3.0 collapses codewords
    lr: float | None = None
    stage1_steps: int | None = None


@dataclasses.dataclass(frozen=True)
class ProgressiveConfig:
    """What the method reads from a config (``experiments/progressive``); ``training`` picks the training."""

    code: specs.CodeFields
    training: str = "progressive"       # 'progressive' | 'straight_through' | 'gumbel'
    channel: ChannelFields = ChannelFields()
    model: ModelFields = ModelFields()
    train: TrainFields = TrainFields()
    straight_through: StraightThroughFields = StraightThroughFields()
    gumbel: GumbelFields = GumbelFields()


# ---------------------------------------------------------------------------------------------- spec


@dataclasses.dataclass(frozen=True)
class ProgressiveSpec:
    """Static description of one training run (hashable: a static argument of the jitted trainers).

    Attributes:
      n, k: code length and number of message bits (``1 <= k < n``); ``M = 2^k`` messages.
      training: ``"progressive"``, ``"straight_through"`` or ``"gumbel"`` (module docstring).
      channel: ``"bsc"`` or ``"awgn"`` (BPSK, soft-decision decoder input).
      train_p: BSC crossover probability used for training, in ``[0, 0.5]``.
      train_ebn0_db: AWGN training Eb/N0 in dB (``sigma`` from :func:`channels.snr_db_to_sigma` at rate k/n).
      relaxation: stage-1 surrogate of the BSC: ``"flip_gauss"``, ``"awgn"`` or ``"exact"`` (module docstring).
      relax_sigma: standard deviation of the Gaussian term of ``"flip_gauss"`` (``>= 0``).
      train_p_start: if ``> 0``, the stage-1 crossover of progressive training goes geometrically from
        ``train_p_start`` to ``train_p`` over the first half of stage 1 (then stays at ``train_p``).
      message_input: ``"one_hot"`` or ``"bits"``.
      encoder: ``"mlp"`` (the paper's unstructured encoder) or ``"linear"``: the relaxed systematic generator
        ``[I_k | P]`` of :mod:`neuralcodes_jax.codes.relaxed` (entry logits ``theta [k, n - k]``, parity logits by the
        relaxed XOR), trained end to end through the channel with the decoder; its binarized codebook is the
        linear code ``[I_k | 1[theta > 0]]``.
      decoder_output: ``"softmax"`` or ``"bitwise"``.
      encoder_hidden, decoder_hidden: hidden widths of the two MLPs (may be empty).
      activation: hidden activation, one of :data:`ACTIVATIONS` (``"leaky_relu"`` has slope 0.2).
      init_scale: multiplies the glorot-uniform kernels at initialisation.
      warm_start: ``""`` (none) or a code (:func:`codes.analysis.code_from_source`: a reference name or a JSON file
        of generators, e.g. a learned linear code): the MLP encoder is first fitted (Adam, full batch, mean
        squared error, ``warm_start_steps`` steps) to the logits ``warm_start_scale (2 c - 1)`` of that code's
        codewords ``c`` (message ``m`` to ``bits(m) G``), so training starts at that code; the decoder starts
        untrained.
      stage1_steps: steps of stage 1 (the whole encoder training for the baselines), ``>= 1``.
      stage2_steps: decoder-only steps after binarization, ``>= 0``.
      batch_size: messages per step, ``>= 1``.
      full_batch: every stage-1 batch holds each message ``batch_size // M`` times (instead of uniform draws).
      lr, stage2_lr: Adam learning rates of stage 1 and stage 2.
      lr_schedule: ``"constant"`` or ``"cosine"`` (decay to 0 over each stage).
      encoder_lr_scale: multiplies the encoder's Adam updates in stage 1 (two time scales when ``< 1``).
      logit_penalty: weight ``lambda`` of the stage-1 penalty ``lambda (1 - t/T) mean(a^2)`` on the encoder
        logits (every training method). It keeps the soft codewords away from the corners early on (where
        the sigmoid saturates and every corner is a local minimum of the relaxed loss) and fades to 0.
      logit_noise: progressive only: Gaussian noise of this scale added to the encoder logits in stage 1,
        fading linearly to 0 at 3/4 of stage 1 (Gaussian smoothing of the encoder landscape).
      ste_gradient: surrogate derivative of the straight-through estimator, ``"sigmoid"`` or ``"identity"``.
      gumbel_tau_start, gumbel_tau_end: binary-Concrete temperature, annealed geometrically over stage 1.
      gumbel_hard: straight-through Gumbel (hard forward pass) when True.
    """

    n: int
    k: int
    training: str = ProgressiveConfig.training
    channel: str = ChannelFields.name
    train_p: float = ChannelFields.train_p
    train_ebn0_db: float = ChannelFields.train_ebn0_db
    relaxation: str = ChannelFields.relaxation
    relax_sigma: float = ChannelFields.relax_sigma
    train_p_start: float = ChannelFields.train_p_start
    message_input: str = ModelFields.message_input
    encoder: str = ModelFields.encoder
    decoder_output: str = ModelFields.decoder_output
    encoder_hidden: tuple[int, ...] = ModelFields.encoder_hidden
    decoder_hidden: tuple[int, ...] = ModelFields.decoder_hidden
    activation: str = ModelFields.activation
    init_scale: float = ModelFields.init_scale
    warm_start: str = ModelFields.warm_start
    warm_start_scale: float = ModelFields.warm_start_scale
    warm_start_steps: int = ModelFields.warm_start_steps
    stage1_steps: int = TrainFields.stage1_steps
    stage2_steps: int = TrainFields.stage2_steps
    batch_size: int = TrainFields.batch_size
    full_batch: bool = TrainFields.full_batch
    lr: float = TrainFields.lr
    stage2_lr: float = TrainFields.stage2_lr
    lr_schedule: str = TrainFields.lr_schedule
    encoder_lr_scale: float = TrainFields.encoder_lr_scale
    logit_penalty: float = TrainFields.logit_penalty
    logit_noise: float = TrainFields.logit_noise
    ste_gradient: str = StraightThroughFields.gradient
    gumbel_tau_start: float = GumbelFields.tau_start
    gumbel_tau_end: float = GumbelFields.tau_end
    gumbel_hard: bool = GumbelFields.hard

    def __post_init__(self) -> None:
        _check_int("n", self.n, 2)
        _check_int("k", self.k, 1, MAX_MESSAGE_BITS)
        if self.k >= self.n:
            raise ValueError(f"k must be < n, got k={self.k}, n={self.n}")
        _check_choice("training", self.training, TRAININGS)
        _check_choice("channel", self.channel, CHANNELS)
        channels.check_prob("train_p", self.train_p, 0.0, 0.5)
        _check_real("train_ebn0_db", self.train_ebn0_db)
        _check_choice("relaxation", self.relaxation, RELAXATIONS)
        if self.relaxation == "exact" and self.n > MAX_EXACT_RELAXATION_BITS:
            raise ValueError(f"n must be <= {MAX_EXACT_RELAXATION_BITS} with relaxation='exact' "
                             f"(2^n received words per step), got n={self.n}")
        if self.relaxation == "awgn" and self.channel == "bsc" and not 0.0 < self.train_p < 0.5:
            raise ValueError(f"train_p must be in (0, 0.5) with relaxation='awgn', got {self.train_p!r}")
        _check_positive("relax_sigma", self.relax_sigma, allow_zero=True)
        if self.train_p_start != 0:
            channels.check_prob("train_p_start", self.train_p_start, 0.0, 0.5)
            if self.relaxation == "awgn" and not self.train_p_start < 0.5:
                raise ValueError(f"train_p_start must be < 0.5 with relaxation='awgn', got {self.train_p_start!r}")
        _check_choice("message_input", self.message_input, MESSAGE_INPUTS)
        _check_choice("encoder", self.encoder, ENCODERS)
        _check_choice("decoder_output", self.decoder_output, DECODER_OUTPUTS)
        one_hot = self.message_input == "one_hot" and self.encoder == "mlp"
        if (one_hot or self.decoder_output == "softmax") and self.k > MAX_ONE_HOT_BITS:
            raise ValueError(f"k must be <= {MAX_ONE_HOT_BITS} with one-hot messages or a softmax decoder "
                             f"(M = 2^k classes), got k={self.k}")
        for field in ("encoder_hidden", "decoder_hidden"):
            widths = getattr(self, field)
            if not isinstance(widths, tuple):
                raise ValueError(f"{field} must be a tuple of ints, got {widths!r}")
            for w in widths:
                _check_int(field, w, 1)
        _check_choice("activation", self.activation, ACTIVATIONS)
        _check_positive("init_scale", self.init_scale)
        if not isinstance(self.warm_start, str):
            raise ValueError(f"warm_start must be a string (a code name or a JSON file), got {self.warm_start!r}")
        if self.warm_start:
            if self.encoder != "mlp":
                raise ValueError(f"warm_start needs encoder='mlp', got encoder={self.encoder!r}")
            warm_start_codebook(self.warm_start, self.n, self.k)      # a clear error now, not at init
        _check_positive("warm_start_scale", self.warm_start_scale)
        _check_int("warm_start_steps", self.warm_start_steps, 1)
        _check_int("stage1_steps", self.stage1_steps, 1)
        _check_int("stage2_steps", self.stage2_steps, 0)
        _check_int("batch_size", self.batch_size, 1)
        _check_bool("full_batch", self.full_batch)
        if self.full_batch and self.batch_size % self.num_messages:
            raise ValueError(f"batch_size must be a multiple of M = {self.num_messages} with full_batch, "
                             f"got {self.batch_size}")
        _check_positive("lr", self.lr)
        _check_positive("stage2_lr", self.stage2_lr)
        _check_choice("lr_schedule", self.lr_schedule, LR_SCHEDULES)
        _check_positive("encoder_lr_scale", self.encoder_lr_scale)
        _check_positive("logit_penalty", self.logit_penalty, allow_zero=True)
        _check_positive("logit_noise", self.logit_noise, allow_zero=True)
        _check_choice("ste_gradient", self.ste_gradient, STE_GRADIENTS)
        _check_positive("gumbel_tau_start", self.gumbel_tau_start)
        _check_positive("gumbel_tau_end", self.gumbel_tau_end)
        _check_bool("gumbel_hard", self.gumbel_hard)

    @property
    def num_messages(self) -> int:
        return 1 << self.k

    @property
    def rate(self) -> float:
        return self.k / self.n

    @property
    def awgn_sigma(self) -> float:
        """Noise standard deviation of the AWGN training channel (unit-energy BPSK at ``train_ebn0_db``).

        ``sigma^2 = 1 / (2 R Eb/N0)`` as in :func:`channels.snr_db_to_sigma`, computed in Python so that it
        stays a constant inside traced code.
        """
        return channels.snr_db_to_sigma(float(self.train_ebn0_db), self.rate)


#: ProgressiveSpec field -> config path (``experiments/progressive``).
CONFIG_PATHS = {
    "n": "code.n", "k": "code.k", "channel": "channel.name", "train_p": "channel.train_p",
    "train_ebn0_db": "channel.train_ebn0_db", "relaxation": "channel.relaxation",
    "relax_sigma": "channel.relax_sigma", "train_p_start": "channel.train_p_start",
    "message_input": "model.message_input", "encoder": "model.encoder", "decoder_output": "model.decoder_output",
    "encoder_hidden": "model.encoder_hidden", "decoder_hidden": "model.decoder_hidden",
    "activation": "model.activation", "init_scale": "model.init_scale",
    "warm_start": "model.warm_start", "warm_start_scale": "model.warm_start_scale",
    "warm_start_steps": "model.warm_start_steps",
    "stage1_steps": "train.stage1_steps", "stage2_steps": "train.stage2_steps",
    "batch_size": "train.batch_size", "full_batch": "train.full_batch", "lr": "train.lr",
    "stage2_lr": "train.stage2_lr", "lr_schedule": "train.lr_schedule",
    "encoder_lr_scale": "train.encoder_lr_scale", "logit_penalty": "train.logit_penalty",
    "logit_noise": "train.logit_noise", "ste_gradient": "straight_through.gradient",
    "gumbel_tau_start": "gumbel.tau_start", "gumbel_tau_end": "gumbel.tau_end", "gumbel_hard": "gumbel.hard",
}


#: Fields a training method's own config section may override (e.g. ``gumbel.logit_penalty``).
PER_TRAINING_FIELDS = ("logit_penalty", "lr", "stage1_steps")


def spec_from_config(config: Any) -> ProgressiveSpec:
    """The flat :class:`ProgressiveSpec` of a config (a ``ConfigDict`` or its typed :class:`ProgressiveConfig`).

    The training's own section (``straight_through`` or ``gumbel``; ``progressive`` has none) may override the
    shared fields of :data:`PER_TRAINING_FIELDS` (``None`` = the shared value). Errors name the config path of the
    offending field (e.g. ``code.k must be < n ...``).
    """
    if not isinstance(config, ProgressiveConfig):
        config = specs.parse(ProgressiveConfig, config)
    training = config.training
    paths = dict(CONFIG_PATHS)
    if training in ("straight_through", "gumbel"):
        for field in PER_TRAINING_FIELDS:
            if getattr(getattr(config, training), field) is not None:
                paths[field] = f"{training}.{field}"
    kwargs: dict[str, Any] = {}
    for field, path in paths.items():
        node = config
        for part in path.split("."):
            node = getattr(node, part)
        if field in ("encoder_hidden", "decoder_hidden"):
            try:
                node = tuple(int(w) if isinstance(w, (int, np.integer)) and not isinstance(w, bool) else w
                             for w in node)
            except TypeError:
                raise ValueError(f"{path} must be a sequence of ints, got {node!r}") from None
        kwargs[field] = node
    kwargs["training"] = training
    try:
        return ProgressiveSpec(**kwargs)
    except ValueError as err:
        msg = str(err)
        field = msg.split(" ", 1)[0]
        if field in paths:
            msg = paths[field] + msg[len(field):]
        raise ValueError(msg) from None


# ------------------------------------------------------------------------------------------- network


def _activation(name: str):
    return {
        "relu": jax.nn.relu,
        "leaky_relu": lambda x: jax.nn.leaky_relu(x, 0.2),
        "elu": jax.nn.elu,
        "tanh": jnp.tanh,
        "linear": lambda x: x,
    }[name]


def _dense_init(key: jax.Array, fan_in: int, fan_out: int, scale: float) -> dict[str, jax.Array]:
    """Glorot-uniform kernel (times ``scale``) and zero bias.

    The kernel is stored with its wider dimension last: ``{"w": [in, out]}`` when ``out >= in``, else
    ``{"wt": [out, in]}`` (the transpose of the same draw, so both layouts are the same function at init). On
    XLA:CPU the weight-gradient product of a batch of seeds, ``[S, B, in]^T [S, B, out]``, is 2-3x faster with
    the wide dimension minor (``results/sweep_vmap.md``); use :func:`layer_kernel` for the ``[in, out]`` matrix.
    """
    limit = scale * math.sqrt(6.0 / (fan_in + fan_out))
    w = jax.random.uniform(key, (fan_in, fan_out), jnp.float32, -limit, limit)
    b = jnp.zeros((fan_out,), jnp.float32)
    return {"w": w, "b": b} if fan_out >= fan_in else {"wt": w.T, "b": b}


def layer_kernel(layer: Mapping[str, jax.Array]) -> jax.Array:
    """The ``[in, out]`` kernel of a layer in either stored layout (``"w"`` or ``"wt"``)."""
    return layer["w"] if "w" in layer else jnp.swapaxes(layer["wt"], -1, -2)


def _dense(layer: Mapping[str, jax.Array], h: jax.Array) -> jax.Array:
    if "w" in layer:
        return h @ layer["w"] + layer["b"]
    return h @ layer["wt"].T + layer["b"]


def _mlp_init(key: jax.Array, sizes: Sequence[int], scale: float) -> list[dict[str, jax.Array]]:
    keys = jax.random.split(key, len(sizes) - 1)
    return [_dense_init(kk, a, b, scale) for kk, a, b in zip(keys, sizes[:-1], sizes[1:])]


@functools.lru_cache(maxsize=8)
def warm_start_codebook(source: str, n: int, k: int) -> np.ndarray:
    """The codewords ``uint8 [2^k, n]`` of the code ``source`` in message order (row ``m`` = ``bits(m) G``)."""
    words = np.asarray(codes_analysis.code_from_source(source, n, k, field="warm_start").codewords(), np.uint8)
    words.setflags(write=False)
    return words


def _fit_encoder(encoder: PyTree, spec: ProgressiveSpec) -> PyTree:
    """The MLP encoder fitted to the warm-start code's logits ``warm_start_scale (2 c - 1)`` (Adam 1e-2, full
    batch, mean squared error, ``warm_start_steps`` steps)."""
    target = spec.warm_start_scale * (2.0 * jnp.asarray(warm_start_codebook(spec.warm_start, spec.n, spec.k),
                                                        jnp.float32) - 1.0)
    opt = optax.adam(1e-2)

    def loss(e):
        return jnp.mean(jnp.square(encoder_table({"encoder": e}, spec) - target))

    def body(_, carry):
        e, s = carry
        updates, s = opt.update(jax.grad(loss)(e), s, e)
        return optax.apply_updates(e, updates), s

    encoder, _ = jax.lax.fori_loop(0, spec.warm_start_steps, body, (encoder, opt.init(encoder)))
    return encoder


def init_params(key: jax.Array, spec: ProgressiveSpec) -> PyTree:
    """``{"encoder": [layers], "decoder": [layers]}``, each layer ``{"w": [in, out] | "wt": [out, in], "b": [out]}``
    (:func:`_dense_init`); with ``spec.warm_start`` the encoder is fitted to that code (:func:`_fit_encoder`)."""
    k_enc, k_dec = jax.random.split(key)
    enc_in = spec.num_messages if spec.message_input == "one_hot" else spec.k
    dec_out = spec.num_messages if spec.decoder_output == "softmax" else spec.k
    if spec.encoder == "linear":
        # Entry logits near 0 (entries near 1/2), the scale of the linear_code method's default init.
        encoder = {"theta": 0.1 * spec.init_scale * jax.random.normal(k_enc, (spec.k, spec.n - spec.k))}
    else:
        encoder = _mlp_init(k_enc, (enc_in, *spec.encoder_hidden, spec.n), spec.init_scale)
        if spec.warm_start:
            encoder = _fit_encoder(encoder, spec)
    return {"encoder": encoder,
            "decoder": _mlp_init(k_dec, (spec.n, *spec.decoder_hidden, dec_out), spec.init_scale)}


def message_bits(messages: jax.Array, k: int) -> jax.Array:
    """The ``k``-bit labels (most significant bit first) of integer messages, ``int32 [..., k]``."""
    shifts = jnp.arange(k - 1, -1, -1, dtype=jnp.int32)
    return (jnp.asarray(messages, jnp.int32)[..., None] >> shifts) & 1


def _apply_mlp(layers: Sequence[dict[str, jax.Array]], h: jax.Array, act, first_is_gather: bool) -> jax.Array:
    for i, layer in enumerate(layers):
        if i > 0:
            h = act(h)
        if i == 0 and first_is_gather:
            h = layer_kernel(layer)[h] + layer["b"]   # one-hot(h) @ w, as a row gather
        else:
            h = _dense(layer, h)
    return h


def encoder_logits(params: PyTree, messages: jax.Array, spec: ProgressiveSpec) -> jax.Array:
    """Encoder logits ``a`` ``[..., n]`` of integer messages ``[...]``; the soft bits are ``sigmoid(a)``."""
    if spec.encoder == "linear":
        bits = message_bits(messages, spec.k)
        systematic = relaxed.SYSTEMATIC_LOGIT * (2.0 * bits.astype(jnp.float32) - 1.0)
        return jnp.concatenate([systematic, relaxed.xor_logits(params["encoder"]["theta"], bits)], axis=-1)
    act = _activation(spec.activation)
    if spec.message_input == "one_hot":
        return _apply_mlp(params["encoder"], jnp.asarray(messages, jnp.int32), act, True)
    u = 1.0 - 2.0 * message_bits(messages, spec.k).astype(jnp.float32)
    return _apply_mlp(params["encoder"], u, act, False)


def encoder_table(params: PyTree, spec: ProgressiveSpec) -> jax.Array:
    """Encoder logits of every message in order, ``[M, n]`` (``encoder_logits`` of ``0..M-1``).

    With one-hot messages the first layer's output is its kernel plus bias (the one-hot vectors of all
    messages form the identity), so no gather (and no scatter in the gradient) is needed.
    """
    if spec.message_input != "one_hot" or spec.encoder == "linear":
        return encoder_logits(params, all_messages(spec), spec)
    act = _activation(spec.activation)
    first, *rest = params["encoder"]
    h = layer_kernel(first) + first["b"]
    for layer in rest:
        h = _dense(layer, act(h))
    return h


def _batch_encoder_logits(params: PyTree, messages: jax.Array, one_hot: jax.Array,
                          spec: ProgressiveSpec) -> jax.Array:
    """Encoder logits of a training batch ``[B, n]``.

    When there are no more messages than examples (``M <= B``) the encoder runs once per message and the rows
    are selected with the one-hot matrix (``one_hot @ table``: an exact selection, whose gradient is a matmul
    rather than a scatter); otherwise it runs on the batch. Both are the same function.
    """
    if spec.num_messages <= messages.shape[0]:
        return one_hot @ encoder_table(params, spec)
    return encoder_logits(params, messages, spec)


def decoder_logits(decoder_params: PyTree, z: jax.Array, spec: ProgressiveSpec) -> jax.Array:
    """Decoder logits of signed channel outputs ``z [..., n]``: ``[..., M]`` (softmax) or ``[..., k]`` (bitwise)."""
    return _apply_mlp(decoder_params, z, _activation(spec.activation), False)


def decode(decoder_params: PyTree, z: jax.Array, spec: ProgressiveSpec) -> jax.Array:
    """Decided message index ``int32 [...]`` of signed channel outputs ``z [..., n]``."""
    logits = decoder_logits(decoder_params, z, spec)
    if spec.decoder_output == "softmax":
        return jnp.argmax(logits, axis=-1).astype(jnp.int32)
    weights = 1 << jnp.arange(spec.k - 1, -1, -1, dtype=jnp.int32)
    return jnp.sum((logits > 0).astype(jnp.int32) * weights, axis=-1)


def all_messages(spec: ProgressiveSpec) -> jax.Array:
    return jnp.arange(spec.num_messages, dtype=jnp.int32)


def binary_codebook(params: PyTree, spec: ProgressiveSpec) -> jax.Array:
    """The hard codebook ``uint8 [M, n]``: row ``m`` is ``1[a(m) > 0]`` (message order)."""
    return (encoder_logits(params, all_messages(spec), spec) > 0).astype(jnp.uint8)


def soft_codebook(params: PyTree, spec: ProgressiveSpec) -> jax.Array:
    """The soft codebook ``sigmoid(a) [M, n]`` (what stage 1 transmits)."""
    return jax.nn.sigmoid(encoder_logits(params, all_messages(spec), spec))


# ------------------------------------------------------------------------------------------ training


def _message_loss(logits: jax.Array, messages: jax.Array, one_hot: jax.Array,
                  spec: ProgressiveSpec) -> tuple[jax.Array, jax.Array]:
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


def ideal_decoder_loss(codebook: Any, spec: ProgressiveSpec, key: jax.Array, num_samples: int = 100_000,
                       batch: int = 5_000) -> tuple[float, float]:
    """The stage-1 objective of ``spec.training`` at a hard codebook ``[M, n]`` with the ideal decoder: the
    cross-entropy of the exact posterior ``P(m | z)`` of the training channel, i.e. the conditional entropy
    ``H(M | Z)`` in nats, by Monte Carlo over uniform messages and channel noise. Returns ``(mean, standard error)``.

    The channel is what stage 1 sends a binary codeword through: for progressive training with
    ``relaxation="flip_gauss"`` the BSC(``train_p``) flips plus the Gaussian term ``relax_sigma``
    (``log p(z_j | s_j) = logaddexp(log(1-p) + s_j z_j / sigma^2, log p - s_j z_j / sigma^2) + const``); otherwise
    (straight-through, Gumbel-softmax at the end of its annealing, the ``"exact"`` relaxation) the BSC itself.
    The minimiser of each method's expected loss over decoders is this posterior, so no decoder reaches a lower
    value on that codebook: the number tells whether the objective prefers one code to another.
    """
    if spec.channel != "bsc" or (spec.training == "progressive" and spec.relaxation == "awgn"):
        raise ValueError("ideal_decoder_loss covers the BSC objectives (channel 'bsc', relaxation 'flip_gauss' or "
                         f"'exact'), got channel={spec.channel!r}, relaxation={spec.relaxation!r}")
    if not 0.0 < spec.train_p < 0.5:
        raise ValueError(f"train_p must be in (0, 0.5) for the ideal-decoder loss, got {spec.train_p!r}")
    _check_int("num_samples", num_samples, 1)
    _check_int("batch", batch, 1)
    book = jnp.asarray(codebook, jnp.float32)
    if book.shape != (spec.num_messages, spec.n):
        raise ValueError(f"codebook must have shape ({spec.num_messages}, {spec.n}), got {book.shape}")
    s = 1.0 - 2.0 * book                                               # [M, n] BPSK codewords
    sigma = spec.relax_sigma if (spec.training == "progressive" and spec.relaxation == "flip_gauss") else 0.0
    log_keep, log_flip = math.log1p(-spec.train_p), math.log(spec.train_p)

    @jax.jit
    def losses(k):
        k_m, k_e, k_n = jax.random.split(k, 3)
        msgs = jax.random.randint(k_m, (batch,), 0, spec.num_messages)
        flips = jax.random.bernoulli(k_e, spec.train_p, (batch, spec.n))
        z = s[msgs] * (1.0 - 2.0 * flips.astype(jnp.float32))
        if sigma > 0:
            z = z + sigma * jax.random.normal(k_n, z.shape)
            t = z / sigma ** 2
            f_pos = jnp.logaddexp(log_keep + t, log_flip - t)          # log-likelihood term when s_j = +1
            f_neg = jnp.logaddexp(log_keep - t, log_flip + t)          # when s_j = -1
            logits = f_pos @ (s > 0).astype(jnp.float32).T + f_neg @ (s < 0).astype(jnp.float32).T
        else:
            agree = 0.5 * (z @ s.T + spec.n)
            logits = log_keep * agree + log_flip * (spec.n - agree)
        picked = jnp.take_along_axis(logits, msgs[:, None], axis=1)[:, 0]
        return jax.nn.logsumexp(logits, axis=1) - picked

    vals = np.concatenate([np.asarray(losses(jax.random.fold_in(key, i)), np.float64)
                           for i in range(-(-num_samples // batch))])[:num_samples]
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
        out = self.bits[self.pos:self.pos + rows]
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


def _exact_noisy_encoder_loss(params: PyTree, step: jax.Array,
                              spec: ProgressiveSpec) -> tuple[jax.Array, jax.Array, jax.Array]:
    """Exact expected loss when soft bit ``c`` is sent as ``Bernoulli(c)`` over the BSC(p), all ``y`` enumerated.

    Returns ``(loss, block error rate of the decoder's decisions, encoder logits [M, n])``.
    """
    a = encoder_logits(params, all_messages(spec), spec)            # [M, n]
    p = stage1_crossover(step, spec)
    log_q1, log_q0 = channels.bsc_noisy_log_probs(a, p)              # log P(y_j = 1 | m), log P(y_j = 0 | m)
    words = all_words(spec.n).astype(jnp.float32)                   # [Y, n]
    log_py = words @ log_q1.T + (1.0 - words) @ log_q0.T            # [Y, M]
    logits = decoder_logits(params["decoder"], 1.0 - 2.0 * words, spec)
    if spec.decoder_output == "softmax":
        nll = -jax.nn.log_softmax(logits, axis=-1)                 # [Y, M]
        wrong = (jnp.argmax(logits, axis=-1)[:, None] != all_messages(spec)[None, :]).astype(jnp.float32)
    else:
        bits = message_bits(all_messages(spec), spec.k).astype(jnp.float32)   # [M, k]
        nll = (jax.nn.softplus(logits) @ jnp.ones((spec.k, 1)) - logits @ bits.T)   # [Y, M]
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
    return width + spec.n + _channel_width(spec)    # gumbel: logistic noise, then the channel


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


def _stage1_loss(p: PyTree, step_key: jax.Array, step: jax.Array, spec: ProgressiveSpec):
    """Stage-1 loss of a batch (with the annealed logit penalty) and its block error rate."""
    m = spec.num_messages
    if spec.training == "progressive" and spec.channel == "bsc" and spec.relaxation == "exact":
        loss, bler, a = _exact_noisy_encoder_loss(p, step, spec)
        a = a.T                                                          # [n, M] like the batch path's [n, B]
    else:
        # Per-example arrays are [n, B] (batch minor) from the draw to the decoder input, see _BitRows.
        cols = _BitRows(jax.random.bits(step_key, (_stage1_width(spec), spec.batch_size)))
        if spec.full_batch:
            msgs = jnp.tile(all_messages(spec), spec.batch_size // m)
        else:
            msgs = sample_messages(cols.take(1)[0], spec.k)
        one_hot = jax.nn.one_hot(msgs, m, dtype=jnp.float32)
        a = _batch_encoder_logits(p, msgs, one_hot, spec).T
        z = _stage1_inputs(a, cols, step, spec)
        cols.done()
        loss, bler = _message_loss(decoder_logits(p["decoder"], z.T, spec), msgs, one_hot, spec)
    if spec.logit_penalty > 0:
        fade = 1.0 - jnp.asarray(step, jnp.float32) / spec.stage1_steps
        # The linear encoder's systematic logits are constants: the penalty acts on its parity logits.
        penalized = a[spec.k:] if spec.encoder == "linear" else a
        loss = loss + spec.logit_penalty * fade * jnp.mean(jnp.square(penalized))
    return loss, bler


def _stage2_loss(dec: PyTree, hard: jax.Array, step_key: jax.Array, spec: ProgressiveSpec):
    """Stage-2 loss: the hard codebook ``hard`` ``[M, n]`` through the exact channel, decoder only."""
    cols = _BitRows(jax.random.bits(step_key, (1 + _channel_width(spec), spec.batch_size)))
    msgs = sample_messages(cols.take(1)[0], spec.k)
    one_hot = jax.nn.one_hot(msgs, spec.num_messages, dtype=jnp.float32)
    z = _channel_exact(cols, (one_hot @ hard).T, spec)    # rows of the hard codebook (exact selection)
    cols.done()
    return _message_loss(decoder_logits(dec, z.T, spec), msgs, one_hot, spec)


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
    def from_spec(cls, spec: ProgressiveConfig, data: Any = None) -> "Progressive":
        return cls(spec=spec_from_config(spec))

    def _bind(self, values) -> "Progressive":
        spec = dataclasses.replace(self.spec)        # a copy: train_p may become a tracer (no validation)
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
        return (_optimizer(s.lr, s.stage1_steps, s.lr_schedule),
                _optimizer(s.stage2_lr, s.stage2_steps, s.lr_schedule))

    def init(self, key: jax.Array, example_x: Any = None) -> PyTree:
        params = init_params(key, self.spec)
        opt1, opt2 = self.optimizers()
        return {"params": params, "opt_state": opt1.init(params), "opt2_state": opt2.init(params["decoder"]),
                "stage1_decoder": params["decoder"], "step": jnp.zeros((), jnp.int32)}

    def train_step(self, state: PyTree, x: Any, key: jax.Array, stage: int = 0) -> tuple[PyTree, dict]:
        spec = self.spec
        opt1, opt2 = self.optimizers()
        params = state["params"]
        new = dict(state, step=state["step"] + 1)
        if stage == 0:
            (loss, bler), grads = jax.value_and_grad(_stage1_loss, has_aux=True)(params, key, state["step"], spec)
            scale = None
            if spec.encoder_lr_scale != 1.0:
                def scale(u):
                    return {"encoder": jax.tree.map(lambda v: v * spec.encoder_lr_scale, u["encoder"]),
                            "decoder": u["decoder"]}
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
