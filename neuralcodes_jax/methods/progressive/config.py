"""Typed config of learned binary codes: the config sections the method reads, and the flat static spec of a run
(``ProgressiveSpec``, a hashable static argument of the jitted step)."""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

import numpy as np

from neuralcodes_jax import channels, specs
from neuralcodes_jax.codes import structure as codes_structure
from neuralcodes_jax.config_utils import check_bool as _check_bool
from neuralcodes_jax.config_utils import check_choice as _check_choice
from neuralcodes_jax.config_utils import check_int as _check_int
from neuralcodes_jax.config_utils import check_positive as _check_positive
from neuralcodes_jax.config_utils import check_probability
from neuralcodes_jax.config_utils import check_real as _check_real

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
#: The decoder whose loss trains the encoder in stage 1: the neural decoder (the paper) or the exact posterior of
#: the relaxed codebook over all ``2^k`` messages (``training_decoder``; not the paper's method).
TRAINING_DECODERS = ("neural", "posterior")

#: Largest ``k`` for the ``M = 2^k``-way one-hot input or softmax output.
MAX_ONE_HOT_BITS = 16
#: Largest ``n`` for which :func:`decoder_table` enumerates all received words.
MAX_TABLE_BITS = 24
#: Largest ``n`` of ``relaxation="exact"`` (every step enumerates the ``2^n`` received words).
MAX_EXACT_RELAXATION_BITS = 12
#: Largest ``k`` of ``training_decoder="posterior"`` (every example scores all ``2^k`` soft codewords).
MAX_POSTERIOR_BITS = 12
#: Largest ``k``: a training message is the top ``k`` bits of one uniform 32-bit word (:func:`sample_messages`).
MAX_MESSAGE_BITS = 30


# ---------------------------------------------------------------------------------------------- config


@dataclasses.dataclass(frozen=True)
class ChannelFields:
    """``channel``: the training channel and the stage-1 relaxation of the BSC."""

    name: str = "bsc"  # 'bsc' | 'awgn'
    train_p: float = 0.02  # BSC crossover of training (stage 1 and stage 2)
    train_ebn0_db: float = 4.0  # AWGN only
    relaxation: str = "flip_gauss"  # stage-1 BSC surrogate: 'flip_gauss' | 'awgn' | 'exact'
    relax_sigma: float = 0.4  # Gaussian term of 'flip_gauss'
    train_p_start: float = 0.0  # > 0: stage-1 crossover annealed from this value to train_p


@dataclasses.dataclass(frozen=True)
class ModelFields:
    """``model``: the encoder and decoder networks."""

    message_input: str = "one_hot"  # 'one_hot' | 'bits'
    encoder: str = "mlp"  # 'mlp' (the paper) | 'linear' (relaxed systematic generator [I | P])
    decoder_output: str = "softmax"  # 'softmax' | 'bitwise'
    encoder_hidden: tuple[int, ...] = (128,)
    decoder_hidden: tuple[int, ...] = (128,)
    activation: str = "relu"
    init_scale: float = 1.0
    warm_start: str = ""  # '' or a code (a reference name or a JSON file of generators)
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
    logit_penalty: float = 3.0  # progressive binarization: lambda of lambda (1 - t/T) mean(a^2)
    logit_noise: float = 0.0
    decoder_first_fraction: float = 0.0  # the first fraction of stage 1 trains the decoder only (encoder frozen)
    decoder_steps: int = 1  # K: the encoder moves on every K-th stage-1 step only (K decoder updates per encoder one)
    training_decoder: str = "neural"  # 'neural' (the paper) | 'posterior' (exact posterior of the relaxed codebook)


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
    logit_penalty: float | None = 0.3  # best of {0, 0.1, 0.3, 1, 3} for (7,4); the shared 3.0 collapses codewords
    lr: float | None = None
    stage1_steps: int | None = None


@dataclasses.dataclass(frozen=True)
class ProgressiveConfig:
    """What the method reads from a config (``experiments/progressive``); ``training`` picks the training."""

    code: specs.CodeFields
    training: str = "progressive"  # 'progressive' | 'straight_through' | 'gumbel'
    channel: ChannelFields = ChannelFields()
    model: ModelFields = ModelFields()
    train: TrainFields = TrainFields()
    straight_through: StraightThroughFields = StraightThroughFields()
    gumbel: GumbelFields = GumbelFields()


@functools.lru_cache(maxsize=8)
def warm_start_codebook(source: str, n: int, k: int) -> np.ndarray:
    """The codewords ``uint8 [2^k, n]`` of the code ``source`` in message order (row ``m`` = ``bits(m) G``)."""
    words = np.asarray(codes_structure.code_from_source(source, n, k, field="warm_start").codewords(), np.uint8)
    words.setflags(write=False)
    return words


# ---------------------------------------------------------------------------------------------- spec


@dataclasses.dataclass(frozen=True)
class ProgressiveSpec:
    """Static description of one training run (hashable: a static argument of the jitted trainers).

    Attributes:
      n, k: code length and number of message bits (``1 <= k < n``); ``M = 2^k`` messages.
      training: ``"progressive"``, ``"straight_through"`` or ``"gumbel"`` (module docstring).
      channel: ``"bsc"`` or ``"awgn"`` (BPSK, soft-decision decoder input).
      train_p: BSC crossover probability used for training, in ``[0, 0.5]``.
      train_ebn0_db: AWGN training Eb/N0 in dB (``sigma`` from :func:`channels.ebn0_db_to_sigma` at rate k/n).
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
      warm_start: ``""`` (none) or a code (:func:`codes.structure.code_from_source`: a reference name or a JSON file
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
      decoder_first_fraction: the first ``round(decoder_first_fraction * stage1_steps)`` steps of stage 1 train the
        decoder only (the encoder's updates are zero, its Adam moments still follow its gradients); in ``[0, 1)``.
      decoder_steps: ``K >= 1``: after the decoder-first part, the encoder moves on every ``K``-th stage-1 step only
        (its update is zero on the others), so the decoder makes ``K`` updates per encoder update: two time scales
        as update counts (``encoder_lr_scale`` is the other form, a smaller encoder step).
      training_decoder: ``"neural"`` (the paper: the encoder's stage-1 gradient is the neural decoder's) or
        ``"posterior"``: the encoder is trained through the exact posterior ``p(m | z)`` of the relaxed (soft)
        codebook over all ``2^k`` messages under the stage-1 channel relaxation
        (:func:`training.posterior_logits`), i.e. the ideal decoder's gradient; the neural decoder is then trained
        in stage 2 on the frozen code only (and used at test time). Progressive training only, ``k <=``
        :data:`MAX_POSTERIOR_BITS`, relaxation ``"flip_gauss"`` (``relax_sigma > 0``) or ``"awgn"``, or the AWGN
        channel. Not the paper's method.
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
    decoder_first_fraction: float = TrainFields.decoder_first_fraction
    decoder_steps: int = TrainFields.decoder_steps
    training_decoder: str = TrainFields.training_decoder
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
        check_probability("train_p", self.train_p)
        _check_real("train_ebn0_db", self.train_ebn0_db)
        _check_choice("relaxation", self.relaxation, RELAXATIONS)
        if self.relaxation == "exact" and self.n > MAX_EXACT_RELAXATION_BITS:
            raise ValueError(
                f"n must be <= {MAX_EXACT_RELAXATION_BITS} with relaxation='exact' "
                f"(2^n received words per step), got n={self.n}"
            )
        if self.relaxation == "awgn" and self.channel == "bsc" and not 0.0 < self.train_p < 0.5:
            raise ValueError(f"train_p must be in (0, 0.5) with relaxation='awgn', got {self.train_p!r}")
        _check_positive("relax_sigma", self.relax_sigma, allow_zero=True)
        if self.train_p_start != 0:
            check_probability("train_p_start", self.train_p_start)
            if self.relaxation == "awgn" and not self.train_p_start < 0.5:
                raise ValueError(f"train_p_start must be < 0.5 with relaxation='awgn', got {self.train_p_start!r}")
        _check_choice("message_input", self.message_input, MESSAGE_INPUTS)
        _check_choice("encoder", self.encoder, ENCODERS)
        _check_choice("decoder_output", self.decoder_output, DECODER_OUTPUTS)
        one_hot = self.message_input == "one_hot" and self.encoder == "mlp"
        if (one_hot or self.decoder_output == "softmax") and self.k > MAX_ONE_HOT_BITS:
            raise ValueError(
                f"k must be <= {MAX_ONE_HOT_BITS} with one-hot messages or a softmax decoder "
                f"(M = 2^k classes), got k={self.k}"
            )
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
            warm_start_codebook(self.warm_start, self.n, self.k)  # a clear error now, not at init
        _check_positive("warm_start_scale", self.warm_start_scale)
        _check_int("warm_start_steps", self.warm_start_steps, 1)
        _check_int("stage1_steps", self.stage1_steps, 1)
        _check_int("stage2_steps", self.stage2_steps, 0)
        _check_int("batch_size", self.batch_size, 1)
        _check_bool("full_batch", self.full_batch)
        if self.full_batch and self.batch_size % self.num_messages:
            raise ValueError(
                f"batch_size must be a multiple of M = {self.num_messages} with full_batch, got {self.batch_size}"
            )
        _check_positive("lr", self.lr)
        _check_positive("stage2_lr", self.stage2_lr)
        _check_choice("lr_schedule", self.lr_schedule, LR_SCHEDULES)
        _check_positive("encoder_lr_scale", self.encoder_lr_scale)
        _check_positive("logit_penalty", self.logit_penalty, allow_zero=True)
        _check_positive("logit_noise", self.logit_noise, allow_zero=True)
        _check_real("decoder_first_fraction", self.decoder_first_fraction)
        if not 0.0 <= self.decoder_first_fraction < 1.0:
            raise ValueError(f"decoder_first_fraction must be in [0, 1), got {self.decoder_first_fraction!r}")
        _check_int("decoder_steps", self.decoder_steps, 1)
        _check_choice("training_decoder", self.training_decoder, TRAINING_DECODERS)
        if self.training_decoder == "posterior":
            if self.training != "progressive":
                raise ValueError(
                    f"training_decoder='posterior' needs training='progressive', got training={self.training!r}"
                )
            if self.k > MAX_POSTERIOR_BITS:
                raise ValueError(
                    f"k must be <= {MAX_POSTERIOR_BITS} with training_decoder='posterior' (2^k soft codewords "
                    f"scored per example), got k={self.k}"
                )
            if self.channel == "bsc" and self.relaxation == "exact":
                raise ValueError(
                    "relaxation must be 'flip_gauss' or 'awgn' with training_decoder='posterior', got 'exact'"
                )
            if self.channel == "bsc" and self.relaxation == "flip_gauss" and self.relax_sigma <= 0:
                raise ValueError(
                    "relax_sigma must be > 0 with training_decoder='posterior' and relaxation='flip_gauss' "
                    f"(the posterior of a soft codeword needs a density), got {self.relax_sigma!r}"
                )
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

        ``sigma^2 = 1 / (2 R Eb/N0)`` as in :func:`channels.ebn0_db_to_sigma`, computed in Python so that it
        stays a constant inside traced code.
        """
        return channels.ebn0_db_to_sigma(float(self.train_ebn0_db), self.rate)


#: ProgressiveSpec field -> config path (``experiments/progressive``).
CONFIG_PATHS = {
    "n": "code.n",
    "k": "code.k",
    "channel": "channel.name",
    "train_p": "channel.train_p",
    "train_ebn0_db": "channel.train_ebn0_db",
    "relaxation": "channel.relaxation",
    "relax_sigma": "channel.relax_sigma",
    "train_p_start": "channel.train_p_start",
    "message_input": "model.message_input",
    "encoder": "model.encoder",
    "decoder_output": "model.decoder_output",
    "encoder_hidden": "model.encoder_hidden",
    "decoder_hidden": "model.decoder_hidden",
    "activation": "model.activation",
    "init_scale": "model.init_scale",
    "warm_start": "model.warm_start",
    "warm_start_scale": "model.warm_start_scale",
    "warm_start_steps": "model.warm_start_steps",
    "stage1_steps": "train.stage1_steps",
    "stage2_steps": "train.stage2_steps",
    "batch_size": "train.batch_size",
    "full_batch": "train.full_batch",
    "lr": "train.lr",
    "stage2_lr": "train.stage2_lr",
    "lr_schedule": "train.lr_schedule",
    "encoder_lr_scale": "train.encoder_lr_scale",
    "logit_penalty": "train.logit_penalty",
    "logit_noise": "train.logit_noise",
    "decoder_first_fraction": "train.decoder_first_fraction",
    "decoder_steps": "train.decoder_steps",
    "training_decoder": "train.training_decoder",
    "ste_gradient": "straight_through.gradient",
    "gumbel_tau_start": "gumbel.tau_start",
    "gumbel_tau_end": "gumbel.tau_end",
    "gumbel_hard": "gumbel.hard",
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
                node = tuple(
                    int(w) if isinstance(w, (int, np.integer)) and not isinstance(w, bool) else w for w in node
                )
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
            msg = paths[field] + msg[len(field) :]
        raise ValueError(msg) from None
