"""NECST trained through a relaxation of its bits instead of VIMCO: Gumbel-softmax and straight-through.

The learned-coding literature trains binary (or discrete) channel inputs with reparameterized relaxations rather
than score-function estimators: the Gumbel-softmax / Concrete relaxation (Jang et al. 2017; Maddison et al. 2017)
and straight-through estimators (Bengio et al. 2013). This method is NECST (same encoder, decoder, channel and
evaluation; ``methods/necst.py``) with the K-sample VIMCO objective of NECST Eq. 6 replaced by

    loss = 1/K sum_k -log p_dec(x | y~^k) + encoder L2,

where ``y~^k`` is a relaxed sample of the noisy encoder ``q_noisy(y | x)`` of NECST section 4 (the channel folded
into the encoder distribution). For a channel with ``S`` output symbols (BSC: 2; BEC: 3 with the erasure), with
``log q_s`` the symbol log-probabilities of each bit (``channel.symbol_log_probs``) and ``v_s`` the decoder-facing
value of symbol ``s`` (``channel.decoder_input``):

* ``estimator='gumbel'``: ``w = softmax((log q + G) / tau)`` with Gumbel noise ``G``; the decoder sees
  ``sum_s w_s v_s`` (for the BSC, ``sigmoid((l + L) / tau)`` with logistic ``L``: the binary Concrete).
* ``estimator='straight_through_gumbel'``: the forward pass sends the hard symbol ``argmax_s(log q_s + G_s)`` (an
  exact sample of ``q_noisy``), the backward pass uses the Gumbel-softmax weights.
* ``estimator='straight_through'``: the forward pass sends an exact sample ``y ~ q_noisy``, the backward pass the
  identity through the symbol probabilities: ``w = q + stop_gradient(onehot(y) - q)``.

The temperature goes geometrically from ``relaxed.tau_start`` to ``relaxed.tau_end`` over
``relaxed.anneal_steps`` steps, then stays. Validation and evaluation are NECST's (hard samples through the real
channel), so the distortion tables compare directly with NECST's. The training noise may vary inside a group
(``channel.eps`` enters ``symbol_log_probs`` as a traced scalar).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp
import optax

from neuralcodes_jax import config_utils
from neuralcodes_jax.methods import necst

PyTree = Any

ESTIMATORS = ("gumbel", "straight_through_gumbel", "straight_through")


@dataclasses.dataclass(frozen=True)
class RelaxedFields:
    """``relaxed``: the relaxation and its temperature, annealed geometrically over ``anneal_steps``."""

    estimator: str = "gumbel"  # one of ESTIMATORS
    tau_start: float = 1.0
    tau_end: float = 0.5
    anneal_steps: int = 10000


@dataclasses.dataclass(frozen=True)
class RelaxedConfig(necst.NECSTConfig):
    relaxed: RelaxedFields = RelaxedFields()


@dataclasses.dataclass(frozen=True, eq=False)
class RelaxedNECST(necst.NECST):
    """NECST with relaxed bits (module docstring). Attributes besides NECST's: ``relaxation`` (one of
    :data:`ESTIMATORS`), ``tau_start``, ``tau_end``, ``anneal_steps``."""

    relaxation: str = RelaxedFields.estimator
    tau_start: float = RelaxedFields.tau_start
    tau_end: float = RelaxedFields.tau_end
    anneal_steps: int = RelaxedFields.anneal_steps
    name: str = "necst_relaxed"

    CONFIG = RelaxedConfig

    def __post_init__(self):
        config_utils.check_choice("relaxed.estimator", self.relaxation, ESTIMATORS)
        config_utils.check_positive("relaxed.tau_start", self.tau_start)
        config_utils.check_positive("relaxed.tau_end", self.tau_end)
        config_utils.check_int("relaxed.anneal_steps", self.anneal_steps, 1)
        super().__post_init__()

    def temperature(self, step: jax.Array) -> jax.Array:
        frac = jnp.minimum(jnp.asarray(step, jnp.float32) / self.anneal_steps, 1.0)
        return self.tau_start * (self.tau_end / self.tau_start) ** frac

    def relaxed_inputs(self, logits: jax.Array, key: jax.Array, tau: jax.Array) -> jax.Array:
        """Decoder inputs ``[K, B, m]`` of ``K`` relaxed samples of the noisy encoder."""
        log_q = self.channel.symbol_log_probs(logits)  # [B, m, S]
        num_symbols = log_q.shape[-1]
        values = self.channel.decoder_input(jnp.arange(num_symbols))  # [S]
        shape = (self.num_samples,) + log_q.shape
        if self.relaxation == "straight_through":
            q = jnp.exp(log_q)
            y = jax.random.categorical(key, jnp.broadcast_to(log_q, shape))
            w = q + jax.lax.stop_gradient(jax.nn.one_hot(y, num_symbols, dtype=q.dtype) - q)
        else:
            g = jax.random.gumbel(key, shape, log_q.dtype)
            w = jax.nn.softmax((log_q + g) / tau, axis=-1)
            if self.relaxation == "straight_through_gumbel":
                hard = jax.nn.one_hot(jnp.argmax(log_q + g, axis=-1), num_symbols, dtype=w.dtype)
                w = w + jax.lax.stop_gradient(hard - w)
        return w @ values.astype(w.dtype)

    def relaxed_loss(
        self, params: PyTree, x: jax.Array, key: jax.Array, tau: jax.Array
    ) -> tuple[jax.Array, dict[str, jax.Array]]:
        logits = self.encode(params, x)
        out = self.decode_float(params, self.relaxed_inputs(logits, key, tau))  # [K, B, ...]
        log_lik = self.log_likelihood(out, x[None])  # [K, B]
        l2 = self.encoder_l2 * necst.l2_of_kernels(params["encoder"])
        loss = -jnp.mean(log_lik) + l2
        probs = jax.nn.sigmoid(logits)
        return loss, {
            "loss": loss,
            "nll": -jnp.mean(log_lik),
            "encoder_l2": l2,
            "tau": tau,
            "code_mean": jnp.mean(probs),
        }

    def train_step(
        self, state: PyTree, x: jax.Array, key: jax.Array, stage: int = 0
    ) -> tuple[PyTree, dict[str, jax.Array]]:
        tau = self.temperature(state["step"])
        (_, metrics), grads = jax.value_and_grad(self.relaxed_loss, has_aux=True)(state["params"], x, key, tau)
        params, opt_state = self.apply_gradients(self.optimizer, state["params"], state["opt_state"], grads)
        metrics["grad_norm"] = optax.tree.norm(grads)
        return {"params": params, "opt_state": opt_state, "step": state["step"] + 1}, metrics

    @classmethod
    def from_spec(cls, spec: RelaxedConfig, data, **fields) -> RelaxedNECST:
        """NECST's sections plus ``relaxed``."""
        r = spec.relaxed
        return super().from_spec(
            spec,
            data,
            relaxation=r.estimator,
            tau_start=float(r.tau_start),
            tau_end=float(r.tau_end),
            anneal_steps=int(r.anneal_steps),
            **fields,
        )


METHOD = RelaxedNECST
