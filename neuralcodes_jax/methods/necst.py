"""NECST: neural joint source-channel coding (Choi et al., ICML 2019).

Model (paper Eq. 1): x -> encoder logits a = f_phi(x) [B, m] -> q_enc(y_hat|x) = Bern(sigmoid(a)) -> channel ->
y -> decoder p_dec(x|y; theta).

The channel is folded into the encoder distribution (paper section 4, "noisy encoder"): for the BSC
q_noisy(y|x) = Bern(sigmoid(a)(1 - 2 eps) + eps); for the BEC a 3-way categorical over {0, 1, erased}. The
objective is the K-sample bound of Eq. 6,

    L^K = E_{y^{1:K} ~ q_noisy(.|x)} [ log 1/K sum_k p_dec(x | y^k) ],

maximised over encoder and decoder with the VIMCO estimator (``estimators.vimco``). The public reference code
instead minimises E[log 1/K sum_k exp(loss_k)] (``estimator='vimco_reference'``); see
``neuralcodes_jax/estimators.py``. As in the reference, the encoder kernels carry an L2 penalty
``encoder_l2 * 1/2 sum w^2`` (TF ``l2_regularizer`` convention), added to the encoder loss only.

One Adam over all parameters is used; the reference runs two Adams with identical hyper-parameters on the
disjoint encoder and decoder variables, which is the same update because Adam acts per parameter.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp
import optax

from neuralcodes_jax import channels as channels_lib
from neuralcodes_jax import estimators, likelihoods, nets, specs
from neuralcodes_jax.config_utils import check_choice as _check_choice
from neuralcodes_jax.config_utils import check_int, check_positive, check_real
from neuralcodes_jax.methods import base as base_lib

PyTree = Any

ENCODER_MODES = ("sample", "threshold")
TEST_NOISE_RULES = ("paper", "reference")


@dataclasses.dataclass(frozen=True)
class OptimFields:
    """``optim``: Adam (the papers' optimizer) or plain SGD."""

    name: str = "adam"
    lr: float = 1e-3
    b1: float = 0.9
    b2: float = 0.999
    eps: float = 1e-8

    def __post_init__(self):
        _check_choice("optim.name", self.name, ("adam", "sgd"))
        check_positive("optim.lr", self.lr)
        check_positive("optim.eps", self.eps)
        for field in ("b1", "b2"):
            if not 0.0 <= check_real(f"optim.{field}", getattr(self, field)) < 1.0:
                raise ValueError(f"optim.{field} must be in [0, 1), got {getattr(self, field)!r}")


@dataclasses.dataclass(frozen=True)
class Optimizer:
    """The optax optimizer of ``config.optim`` (with learning rate ``lr``), built where it is used: a plain value,
    so two methods with the same settings compare equal."""

    fields: OptimFields
    lr: float

    def transform(self) -> optax.GradientTransformation:
        if self.fields.name == "adam":
            return optax.adam(self.lr, b1=self.fields.b1, b2=self.fields.b2, eps=self.fields.eps)
        return optax.sgd(self.lr)

    def init(self, params: PyTree) -> PyTree:
        return self.transform().init(params)

    def update(self, grads: PyTree, state: PyTree, params: PyTree | None = None) -> tuple[PyTree, PyTree]:
        return self.transform().update(grads, state, params)


def make_optimizer(cfg: OptimFields, lr: float | None = None) -> Optimizer:
    """The optimizer of ``config.optim`` (``lr`` replaces its learning rate when given)."""
    return Optimizer(cfg, cfg.lr if lr is None else check_positive("lr", lr))


@dataclasses.dataclass(frozen=True)
class ModelFields:
    """``model``: the code length and the networks."""

    bits: int = 100  # m
    encoder: str = "auto"  # 'auto' picks the paper's network for the dataset (nets.default_nets_for)
    decoder: str = "auto"
    likelihood: str = "auto"  # 'auto': Bernoulli for binary data, fixed-variance Gaussian otherwise
    sigma2: float = 0.5  # Gaussian variance; 0.5 makes -log p = SSE + const, as the reference code
    encoder_kwargs: specs.FreeMapping = dataclasses.field(default_factory=dict)  # network options
    decoder_kwargs: specs.FreeMapping = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        check_int("model.bits", self.bits, 1)
        _check_choice("model.likelihood", self.likelihood, ("auto", "bernoulli", "gaussian"))
        check_positive("model.sigma2", self.sigma2)


@dataclasses.dataclass(frozen=True)
class ChannelFields:
    """``channel``: the training channel and its noise level."""

    name: str = "bsc"  # channels.CHANNELS
    eps: float = 0.1  # training noise level
    erasure_input: str = "signed"  # BEC decoder input: 'signed' (-1, +1, 0=erased) | 'reference' (0, 1, 2)


@dataclasses.dataclass(frozen=True)
class EstimatorFields:
    """``necst``: the multi-sample objective (Eq. 6) and the encoder's L2 penalty."""

    estimator: str = "vimco"  # 'vimco' (paper Eq. 6) | 'vimco_reference' (public code) | 'reinforce_loo'
    num_samples: int = 5  # K
    encoder_l2: float = 1e-4


@dataclasses.dataclass(frozen=True)
class EvalFields:
    """``eval`` fields NECST reads (the test-time encoder and channel draws)."""

    encoder: str = "sample"  # 'sample' (stochastic encoder, both papers) | 'threshold'
    num_samples: int = 1  # channel draws per test image
    test_noise_rule: str = "paper"  # 'paper' | 'reference' (no test noise if trained at eps=0)


@dataclasses.dataclass(frozen=True)
class NECSTConfig:
    """What NECST reads from a config (its typed spec)."""

    model: ModelFields = ModelFields()
    channel: ChannelFields = ChannelFields()
    necst: EstimatorFields = EstimatorFields()
    optim: OptimFields = OptimFields()
    eval: EvalFields = EvalFields()


def l2_of_kernels(params: PyTree) -> jax.Array:
    """1/2 sum of squared kernel weights (biases and norm parameters excluded)."""
    leaves = jax.tree_util.tree_leaves_with_path(params)
    total = jnp.zeros((), jnp.float32)
    for path, leaf in leaves:
        if getattr(path[-1], "key", None) == "kernel":
            total = total + 0.5 * jnp.sum(jnp.square(leaf))
    return total


@dataclasses.dataclass(frozen=True, eq=False)
class NECST(base_lib.Method):
    """NECST as a trainer method (see ``methods/base.py`` for the contract). Methods built on NECST (IABF, the
    discrete VAE, the relaxed-bits NECST) subclass it and reuse :meth:`encode`, :meth:`decode` and
    :meth:`log_likelihood`.

    A group of runs may vary the training noise ``channel.eps``: :meth:`bind` gives the method a copy of its
    channel whose ``eps`` is the run's traced value (the channel ops of the training step take it as an array).

    Attributes:
      encoder, decoder: Flax Linen modules (``nets``).
      channel: the training channel (``channels.make_channel``), carrying the training noise level.
      likelihood: 'bernoulli' (binary data) or 'gaussian' (fixed variance ``sigma2``, grey/RGB data).
      num_samples: K of Eq. 6.
      estimator: 'vimco' (paper), 'vimco_reference' (public code) or another name in ``estimators.ESTIMATORS``.
      encoder_l2: weight of the encoder kernel L2 penalty.
      eval_encoder: 'sample' (stochastic encoder, as both papers) or 'threshold' (y_hat = 1[p > 1/2]).
      test_noise_rule: 'paper' applies the requested test noise; 'reference' applies it only when the training
        noise is non-zero, as the public NECST code does.
    """

    encoder: Any
    decoder: Any
    channel: Any
    optimizer: Any  # an Optimizer (make_optimizer) or any optax GradientTransformation
    output_shape: tuple[int, ...]
    likelihood: str = "bernoulli"
    sigma2: float = ModelFields.sigma2
    num_samples: int = EstimatorFields.num_samples
    estimator: str = EstimatorFields.estimator
    encoder_l2: float = EstimatorFields.encoder_l2
    eval_encoder: str = EvalFields.encoder
    eval_num_samples: int = EvalFields.num_samples
    test_noise_rule: str = EvalFields.test_noise_rule
    name: str = "necst"

    CONFIG = NECSTConfig
    group_fields = ("channel.eps",)

    def __post_init__(self):
        if self.num_samples < 1:
            raise ValueError(f"necst.num_samples must be >= 1, got {self.num_samples}")
        if self.num_samples < 2 and self.estimator.startswith("vimco"):
            raise ValueError(
                f"necst.num_samples must be >= 2 for VIMCO (leave-one-out baselines), got {self.num_samples}"
            )
        if self.estimator not in estimators.ESTIMATORS:
            raise ValueError(f"necst.estimator must be one of {sorted(estimators.ESTIMATORS)}, got {self.estimator!r}")
        _check_choice("model.likelihood", self.likelihood, ("bernoulli", "gaussian"))
        _check_choice("eval.encoder", self.eval_encoder, ENCODER_MODES)
        _check_choice("eval.test_noise_rule", self.test_noise_rule, TEST_NOISE_RULES)
        if self.encoder_l2 < 0:
            raise ValueError(f"necst.encoder_l2 must be >= 0, got {self.encoder_l2}")
        if self.eval_num_samples < 1:
            raise ValueError(f"eval.num_samples must be >= 1, got {self.eval_num_samples}")

    # ----------------------------------------------------------------------------------------------------------
    # Building blocks (public: analysis code, IABF and notebooks reuse them).

    def encode(self, params: PyTree, x: jax.Array) -> jax.Array:
        """Encoder logits a = f_phi(x), [B, m]."""
        return self.encoder.apply({"params": params["encoder"]}, x)

    def decode(self, params: PyTree, y: jax.Array) -> jax.Array:
        """Decoder output (logits for Bernoulli, pre-sigmoid mean for Gaussian), [..., *output_shape].

        ``y`` holds channel symbols (ints); the decoder sees ``channel.decoder_input(y)``.
        """
        return self.decoder.apply({"params": params["decoder"]}, self.channel.decoder_input(y))

    def decode_float(self, params: PyTree, y_in: jax.Array) -> jax.Array:
        """Decoder output for an already mapped decoder input (float array [..., m])."""
        return self.decoder.apply({"params": params["decoder"]}, y_in)

    def log_likelihood(self, out: jax.Array, x: jax.Array) -> jax.Array:
        """log p_dec(x | y) summed over the data dimensions; broadcasts leading sample axes."""
        event_ndim = len(self.output_shape)
        if self.likelihood == "bernoulli":
            return likelihoods.bernoulli_log_prob(out, x, event_ndim=event_ndim)
        return likelihoods.gaussian_log_prob(out, x, sigma2=self.sigma2, event_ndim=event_ndim)

    # ----------------------------------------------------------------------------------------------------------
    # The trainer contract.

    def init(self, key: jax.Array, example_x: jax.Array) -> PyTree:
        k_enc, k_dec = jax.random.split(key)
        enc_params = self.encoder.init(k_enc, example_x)["params"]
        logits = self.encoder.apply({"params": enc_params}, example_x)
        y = jnp.zeros(logits.shape, jnp.int32)
        dec_params = self.decoder.init(k_dec, self.channel.decoder_input(y))["params"]
        params = {"encoder": enc_params, "decoder": dec_params}
        return {"params": params, "opt_state": self.optimizer.init(params), "step": jnp.zeros((), jnp.int32)}

    def loss(self, params: PyTree, x: jax.Array, key: jax.Array) -> tuple[jax.Array, dict[str, jax.Array]]:
        """Loss to minimise (surrogate of -Eq. 6 plus encoder L2) and scalar metrics."""
        return self.loss_from_logits(params, self.encode(params, x), x, key)

    def loss_from_logits(
        self, params: PyTree, logits: jax.Array, x: jax.Array, key: jax.Array
    ) -> tuple[jax.Array, dict[str, jax.Array]]:
        """:meth:`loss` with the encoder logits given (their gradient is the encoder's, through a VJP; ``params``
        gives the decoder and the encoder L2)."""
        y = jax.lax.stop_gradient(self.channel.sample(key, logits, self.num_samples))  # [K, B, m]
        log_q = self.channel.log_prob(y, logits)  # [K, B]
        out = self.decode(params, y)  # [K, B, ...]
        log_lik = self.log_likelihood(out, x[None])  # [K, B]
        per_example, objective = estimators.multi_sample_loss(self.estimator, log_lik, log_q)
        l2 = self.encoder_l2 * l2_of_kernels(params["encoder"])
        loss = jnp.mean(per_example) + l2
        probs = jax.nn.sigmoid(logits)
        metrics = {
            "loss": loss,
            "objective": jnp.mean(objective),  # Eq. 6 estimate (for 'vimco'), nats per example
            "nll": -jnp.mean(log_lik),  # mean single-sample -log p(x|y), nats per example
            "encoder_l2": l2,
            "code_entropy_bits": jnp.mean(jnp.sum(channels_lib.binary_entropy(probs), axis=-1)),
            "code_mean": jnp.mean(probs),
        }
        return loss, metrics

    def _bind(self, values) -> NECST:
        return dataclasses.replace(self, channel=self.channel.with_traced_eps(values["channel.eps"]))

    def train_step(
        self, state: PyTree, x: jax.Array, key: jax.Array, stage: int = 0
    ) -> tuple[PyTree, dict[str, jax.Array]]:
        (_, metrics), grads = jax.value_and_grad(self.loss, has_aux=True)(state["params"], x, key)
        params, opt_state = self.apply_gradients(self.optimizer, state["params"], state["opt_state"], grads)
        metrics["grad_norm"] = optax.tree.norm(grads)
        return {"params": params, "opt_state": opt_state, "step": state["step"] + 1}, metrics

    def valid_loss(self, params: PyTree, x: jax.Array, key: jax.Array) -> jax.Array:
        """-log p(x|y) for one channel sample at the training noise, per example (the reference's criterion)."""
        logits = self.encode(params, x)
        y = self.channel.sample(key, logits, 1)
        return -self.log_likelihood(self.decode(params, y), x[None])[0]

    def test_eps(self, eps: float) -> float:
        if self.test_noise_rule == "reference" and self.channel.eps == 0:
            return 0.0
        return eps

    def transmit(self, params: PyTree, x: jax.Array, key: jax.Array, eps: float, num_samples: int) -> jax.Array:
        """Channel symbols received for x at test noise eps, [S, B, m]."""
        channel = self.channel.noisy(self.test_eps(eps))
        logits = self.encode(params, x)
        if self.eval_encoder == "sample":
            return channel.sample(key, logits, num_samples)
        bits = (logits > 0).astype(jnp.int32)
        return channel.sample_hard(key, jnp.broadcast_to(bits, (num_samples,) + bits.shape))

    def eval_batch(self, params: PyTree, x: jax.Array, key: jax.Array, eps: float) -> dict[str, jax.Array]:
        """Per-example distortion metrics at test noise eps, averaged over ``eval_num_samples`` channel draws."""
        y = self.transmit(params, x, key, eps, self.eval_num_samples)
        out = self.decode(params, y)  # [S, B, ...]
        xs = jnp.broadcast_to(x[None], out.shape)
        nd = len(self.output_shape)
        metrics = {
            "bce_per_pixel_nats": likelihoods.per_pixel_bce(out, xs, event_ndim=nd),
            "mse_per_pixel": likelihoods.per_pixel_mse(out, xs, event_ndim=nd),
            "sse_per_image": likelihoods.per_image_sse(out, xs, event_ndim=nd),
            "pixel_error_rate": likelihoods.pixel_error_rate(out, xs, event_ndim=nd),
            "nll_per_image_nats": -self.log_likelihood(out, x[None]),
        }
        return {k: jnp.mean(v, axis=0) for k, v in metrics.items()}

    def eval_settings(self) -> dict[str, Any]:
        return {"num_channel_samples": int(self.eval_num_samples), "encoder_mode": self.eval_encoder}

    @classmethod
    def from_spec(cls, spec: NECSTConfig, data: base_lib.DataSpec, **fields) -> NECST:
        """NECST (or the subclass ``cls`` with extra ``fields``) from its typed config and the dataset's
        :class:`methods.base.DataSpec`."""
        if data is None:
            raise ValueError(f"method {cls.name!r} trains on a dataset: the config needs a 'data' section")
        data_shape = tuple(data.shape)
        model = spec.model
        enc_name, dec_name = model.encoder, model.decoder
        if enc_name == "auto" or dec_name == "auto":
            auto_enc, auto_dec = nets.default_nets_for(data.name)
            enc_name = auto_enc if enc_name == "auto" else enc_name
            dec_name = auto_dec if dec_name == "auto" else dec_name
        likelihood = model.likelihood
        if likelihood == "auto":
            likelihood = "bernoulli" if data.is_binary else "gaussian"
        channel = channels_lib.make_channel(
            spec.channel.name, float(spec.channel.eps), erasure_input=spec.channel.erasure_input
        )
        return cls(
            encoder=nets.make_encoder(enc_name, int(model.bits), **dict(model.encoder_kwargs)),
            decoder=nets.make_decoder(dec_name, data_shape, **dict(model.decoder_kwargs)),
            channel=channel,
            optimizer=make_optimizer(spec.optim),
            output_shape=data_shape,
            likelihood=likelihood,
            sigma2=float(model.sigma2),
            num_samples=int(spec.necst.num_samples),
            estimator=spec.necst.estimator,
            encoder_l2=float(spec.necst.encoder_l2),
            eval_encoder=spec.eval.encoder,
            eval_num_samples=int(spec.eval.num_samples),
            test_noise_rule=spec.eval.test_noise_rule,
            **fields,
        )


METHOD = NECST
