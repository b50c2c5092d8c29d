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

from neuralcodes_jax import channels
from neuralcodes_jax.codes import relaxed
from neuralcodes_jax.config_utils import check_choice, check_int, check_positive, check_real
from neuralcodes_jax.methods import base as base_lib

PyTree = Any

#: Largest ``n`` of a learned linear code (the exact evaluation uses a syndrome table of ``2^(n-k)`` cosets and
#: 64-bit words).
MAX_N = 31
MAX_REDUNDANCY = 20


@dataclasses.dataclass(frozen=True, eq=False)
class LinearCodeMethod(base_lib.Method):
    """The surrogate-trained relaxed systematic linear code (module docstring)."""

    n: int
    k: int
    surrogate: str = "union"
    p: float = 0.01
    tau: float = 1.0
    distance: int = 3
    max_message_weight: int = 0
    steps: int = 2000
    lr: float = 0.05
    init_scale: float = 0.1
    logit_penalty: float = 0.0
    gradient_noise: float = 0.0
    anneal_fraction: float = 0.8
    restarts: int = 1
    name: str = "linear_code"

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

    @property
    def channel(self):
        return channels.BSC(float(self.p))

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

    def generator(self, theta: Any) -> Any:
        """The learned code of a run: the binarized chain with the lowest surrogate, ``uint8 [k, n]``."""
        theta = jnp.asarray(theta)
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
        updates, opt_state = self.optimizer().update(grads, state["opt_state"], state["params"])
        params = optax.apply_updates(state["params"], updates)
        pi = jax.nn.sigmoid(state["params"]["theta"])
        return ({"params": params, "opt_state": opt_state, "step": state["step"] + 1},
                {"loss": loss, "surrogate": value, "distance_to_binary": jnp.mean(jnp.minimum(pi, 1.0 - pi))})


def build(config: Any, data: Any = None) -> LinearCodeMethod:
    """The method of an ``experiments/linear_codes`` config."""
    s, t = config.surrogate, config.train
    return LinearCodeMethod(
        n=config.code.n, k=config.code.k, surrogate=s.name, p=s.p, tau=s.tau, distance=s.distance,
        max_message_weight=s.max_message_weight, steps=t.steps, lr=t.lr, init_scale=t.init_scale,
        logit_penalty=t.logit_penalty, gradient_noise=t.gradient_noise, anneal_fraction=t.anneal_fraction)


METHOD = LinearCodeMethod
