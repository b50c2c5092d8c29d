"""Learned linear codes: a systematic generator ``[I_k | P]`` with ``P`` relaxed to probabilities, trained on a
differentiable surrogate of the code's quality (``config.method = 'linear_code'``).

The parameters are the entry logits ``theta [k, n - k]`` (``P_ij ~ Bernoulli(sigmoid(theta_ij))``); the loss is a
surrogate of the expected weight spectrum over the enumerated nonzero messages (:mod:`neuralcodes_jax.codes.relaxed`:
``union``, ``softmin`` or ``distance``), plus an optional annealed logit penalty ``lambda (1 - t / T') mean(theta^2)``
(the progressive binarization of arXiv 2511.09221 applied to the entries; ``T' = anneal_fraction * steps``) and
optional annealed Gaussian gradient noise of the same schedule. ``train.restarts`` independent chains may run in
one run; the run's code is the chain whose binarized code has the lowest surrogate (:meth:`generator`). The learned
code is ``[I_k | 1[theta > 0]]``, the
mode of the relaxed code, evaluated exactly by the ``linear_code`` evaluator (``evaluators/linear_code.py``).

Training through the channel with a neural decoder (end to end) is the ``progressive`` method with
``model.encoder = 'linear'`` (the same relaxed generator as its encoder). A group varies only the seed.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp
import optax

from neuralcodes_jax import channels, specs
from neuralcodes_jax.codes import relaxed
from neuralcodes_jax.config_utils import check_choice, check_int, check_positive, check_real
from neuralcodes_jax.methods import base as base_lib

PyTree = Any

#: Largest ``n`` of a learned linear code (the exact evaluation uses a syndrome table of ``2^(n-k)`` cosets and
#: 64-bit words).
MAX_N = 31
MAX_REDUNDANCY = 20


@dataclasses.dataclass(frozen=True)
class SurrogateFields:
    """``surrogate``: the differentiable surrogate of the code's quality (``codes.relaxed.surrogate_loss``)."""

    name: str = "union"                 # codes.relaxed.SURROGATES
    p: float = 0.01                     # BSC crossover of the union bound
    tau: float = 0.5                    # softmin temperature
    distance: int = 3                   # target distance of the 'distance' surrogate
    max_message_weight: int = 0         # 0: all nonzero messages; else messages of weight <= this


@dataclasses.dataclass(frozen=True)
class TrainFields:
    """``train`` fields of the method (the loop's own are ``specs.LoopTrain``)."""

    steps: int = 4000
    lr: float = 0.05
    init_scale: float = 0.1
    logit_penalty: float = 3.0          # annealed lambda (1 - t / (anneal_fraction T)) mean(theta^2)
    gradient_noise: float = 0.0
    anneal_fraction: float = 0.8
    restarts: int = 1                   # independent chains per run; the run keeps the best binarized one


@dataclasses.dataclass(frozen=True)
class LinearCodeConfig:
    """What the method reads from a config (``experiments/linear_codes/linear.py``)."""

    code: specs.CodeFields
    surrogate: SurrogateFields = SurrogateFields()
    train: TrainFields = TrainFields()


@dataclasses.dataclass(frozen=True, eq=False)
class LinearCodeMethod(base_lib.Method):
    """The surrogate-trained relaxed systematic linear code (module docstring)."""

    n: int
    k: int
    surrogate: str = SurrogateFields.name
    p: float = SurrogateFields.p
    tau: float = SurrogateFields.tau
    distance: int = SurrogateFields.distance
    max_message_weight: int = SurrogateFields.max_message_weight
    steps: int = TrainFields.steps
    lr: float = TrainFields.lr
    init_scale: float = TrainFields.init_scale
    logit_penalty: float = TrainFields.logit_penalty
    gradient_noise: float = TrainFields.gradient_noise
    anneal_fraction: float = TrainFields.anneal_fraction
    restarts: int = TrainFields.restarts
    name: str = "linear_code"

    CONFIG = LinearCodeConfig

    group_fields = ()
    uses_data = False
    has_validation = False
    evaluator = "linear_code"

    def __post_init__(self) -> None:
        check_int("code.n", self.n, 3, MAX_N)
        check_int("code.k", self.k, 1)
        if self.k >= self.n:
            raise ValueError(f"code.k must be < code.n={self.n} (a code needs redundancy), got {self.k}")
        if self.n - self.k > MAX_REDUNDANCY:
            raise ValueError(f"code.n - code.k must be <= {MAX_REDUNDANCY} for the exact syndrome evaluation, got "
                             f"{self.n - self.k}")
        check_choice("surrogate.name", self.surrogate, relaxed.SURROGATES)
        if not 0.0 < check_real("surrogate.p", self.p) < 0.5:
            raise ValueError(f"surrogate.p must be in (0, 0.5), got {self.p!r}")
        check_positive("surrogate.tau", self.tau)
        check_int("surrogate.distance", self.distance, 2, self.n)
        object.__setattr__(self, "max_message_weight",
                           relaxed.check_messages(self.k, self.max_message_weight))
        check_int("train.steps", self.steps, 1)
        check_positive("train.lr", self.lr)
        check_positive("train.init_scale", self.init_scale)
        check_positive("train.logit_penalty", self.logit_penalty, allow_zero=True)
        check_positive("train.gradient_noise", self.gradient_noise, allow_zero=True)
        if not 0.0 < check_real("train.anneal_fraction", self.anneal_fraction) <= 1.0:
            raise ValueError(f"train.anneal_fraction must be in (0, 1], got {self.anneal_fraction!r}")
        check_int("train.restarts", self.restarts, 1, 1024)

    @classmethod
    def from_spec(cls, spec: LinearCodeConfig, data: Any = None) -> LinearCodeMethod:
        s, t = spec.surrogate, spec.train
        return cls(n=spec.code.n, k=spec.code.k, surrogate=s.name, p=s.p, tau=s.tau, distance=s.distance,
                   max_message_weight=s.max_message_weight, steps=t.steps, lr=t.lr, init_scale=t.init_scale,
                   logit_penalty=t.logit_penalty, gradient_noise=t.gradient_noise,
                   anneal_fraction=t.anneal_fraction, restarts=t.restarts)

    @property
    def channel(self):
        return channels.BSC(float(self.p))

    def eval_settings(self) -> dict[str, Any]:
        return {"n": self.n, "k": self.k, "surrogate": self.surrogate, "restarts": self.restarts}

    def stages(self) -> tuple[base_lib.Stage, ...]:
        return (base_lib.Stage("train", self.steps),)

    def optimizer(self) -> optax.GradientTransformation:
        return optax.adam(self.lr)

    def init(self, key: jax.Array, example_x: Any = None) -> PyTree:
        theta = self.init_scale * jax.random.normal(key, (self.restarts, self.k, self.n - self.k), jnp.float32)
        params = {"theta": theta}
        return {"params": params, "opt_state": self.optimizer().init(params), "step": jnp.zeros((), jnp.int32)}

    def surrogate_value(self, theta: jax.Array) -> jax.Array:
        """The surrogate of entry logits ``theta [k, n - k]``."""
        spectrum = relaxed.expected_spectrum(theta, self.max_message_weight)
        return relaxed.surrogate_loss(spectrum, self.surrogate, p=self.p, tau=self.tau, distance=self.distance)

    def binarized_values(self, theta: jax.Array) -> jax.Array:
        """The surrogate of each chain's binarized code ``[I | 1[theta > 0]]`` (exact: a function of its weight
        enumerator), ``[restarts]``."""
        hard = jnp.where(theta > 0, 30.0, -30.0)
        return jax.vmap(self.surrogate_value)(hard)

    def generator(self, params: Any) -> Any:
        """The learned code of a run (its parameters, or the logits ``theta [restarts, k, n - k]``): the
        binarized chain with the lowest surrogate, ``uint8 [k, n]`` (what the ``linear_code`` evaluator reads)."""
        theta = jnp.asarray(params["theta"] if isinstance(params, dict) else params)
        best = int(jnp.argmin(self.binarized_values(theta)))
        return relaxed.generator_from_logits(jax.device_get(theta[best]))

    def _fade(self, step: jax.Array) -> jax.Array:
        return jnp.maximum(1.0 - step.astype(jnp.float32) / (self.anneal_fraction * self.steps), 0.0)

    def train_step(self, state: PyTree, x: Any, key: jax.Array, stage: int = 0) -> tuple[PyTree, dict]:
        fade = self._fade(state["step"])

        def loss_fn(params):
            # Independent chains: a sum of their losses (Adam is elementwise, so each chain moves as if alone).
            values = jax.vmap(self.surrogate_value)(params["theta"])
            penalty = self.logit_penalty * fade * jnp.mean(jnp.square(params["theta"]), axis=(1, 2))
            return jnp.sum(values + penalty), jnp.min(values)

        (loss, value), grads = jax.value_and_grad(loss_fn, has_aux=True)(state["params"])
        if self.gradient_noise > 0:
            grads = {"theta": grads["theta"] + self.gradient_noise * fade
                     * jax.random.normal(key, grads["theta"].shape, grads["theta"].dtype)}
        params, opt_state = self.apply_gradients(self.optimizer(), state["params"], state["opt_state"], grads)
        pi = jax.nn.sigmoid(state["params"]["theta"])
        return ({"params": params, "opt_state": opt_state, "step": state["step"] + 1},
                {"loss": loss, "surrogate": value, "distance_to_binary": jnp.mean(jnp.minimum(pi, 1.0 - pi))})


METHOD = LinearCodeMethod
