"""Discrete VAE: the source code of NECST's separation baseline "VAE + LDPC" (Choi et al. 2019, section 5.3).

Model: a uniform Bernoulli prior ``p(z) = 2^-k`` on ``k`` latent bits, the amortised posterior
``q(z|x) = Bern(sigmoid(f_phi(x)))`` and the decoder ``p(x|z)``, with the same networks as NECST (``nets``) and
no channel noise during training. Training maximises the K-sample bound

    L^K = E_{z^{1:K} ~ q(.|x)} [ log 1/K sum_k w_k ],   w_k = p(x|z^k) p(z^k) / q(z^k|x),

(the ELBO for K = 1; Burda et al. 2016), through the estimator machinery of NECST: ``estimators.multi_sample_loss``
receives the per-sample log-weights ``log w_k`` in place of NECST's ``log p(x|y^k)`` (NECST Eq. 6 is this bound
without the prior and posterior terms). With ``estimator='vimco'`` (default) the gradient is VIMCO's for L^K;
with ``'reinforce_loo'`` it is the plain ELBO ``E_q[log w]`` with leave-one-out baselines. Both are unbiased for
their objective, including the path-wise term of ``-log q`` (``tests/test_analysis_separation.py`` checks this by
enumeration).

As a trainer method (``methods/base.py``) the VAE is NECST with a noiseless channel and another loss; its
``eval_batch`` sends the k latent bits *uncoded* over the test channel (a reference point). The rate-1/2 LDPC
separation system built on it lives in ``neuralcodes_jax/analysis/separation.py``.

Validation score: the negative single-sample ELBO with the analytic KL to the uniform prior,
``-(log p(x|z) - KL(q(.|x) || U))``, ``KL = sum_i [log 2 - H(q_i)]``.

``kl_weight`` (beta, default 1: the ELBO) scales the prior and posterior terms, ``log w = log p(x|z) + beta (log p(z)
- log q(z|x))`` (a beta-VAE; Higgins et al. 2017). It matters for data without structure: on uniformly random bits
every model has the same ELBO, ``-D log 2``, whether or not its latents carry information, so the ELBO gives the
encoder no reason to use them and training ends in posterior collapse; with ``beta < 1`` each bit the latent carries
gains ``(1 - beta) log 2``.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import jax
import jax.numpy as jnp

from neuralcodes_jax import estimators
from neuralcodes_jax.config_utils import check_choice, check_int
from neuralcodes_jax.methods import necst

PyTree = Any


def log_uniform_prior(num_bits: int) -> float:
    """``log p(z) = -k log 2`` of the uniform prior on ``k`` bits (nats)."""
    return -num_bits * math.log(2.0)


def kl_to_uniform(logits: jax.Array) -> jax.Array:
    """``KL(Bern(sigmoid(logits)) || Bern(1/2)^k)`` summed over the last axis (nats), ``[..., k] -> [...]``.

    Per bit ``log 2 + q log q + (1 - q) log(1 - q)`` with ``q = sigmoid(l)``, computed from ``log_sigmoid`` so
    that it stays finite for large ``|l|``.
    """
    logits = jnp.asarray(logits)
    q1 = jax.nn.sigmoid(logits)
    per_bit = math.log(2.0) + q1 * jax.nn.log_sigmoid(logits) + (1.0 - q1) * jax.nn.log_sigmoid(-logits)
    return jnp.sum(per_bit, axis=-1)


@dataclasses.dataclass(frozen=True)
class VAEFields:
    """``vae``: beta of the weighted bound (1 = the ELBO)."""

    kl_weight: float = 1.0


@dataclasses.dataclass(frozen=True)
class SeparationFields:
    """``separation``: the channel-code half of the VAE + LDPC baseline (``launch.baselines --task=vae_ldpc``)."""

    dataset: str = "binary_mnist"  # the NECST runs it is compared with
    channel_bits: int = 100  # n of the LDPC code = NECST's m
    ldpc_construction: str = "peg"  # 'peg' (any n) | 'gallager' (n a multiple of d_c)
    ldpc_d_v: int = 3
    ldpc_d_c: int = 6
    ldpc_seed: int = 0
    bp_algorithm: str = "sum_product"  # 'sum_product' | 'min_sum' (normalised, alpha 0.75)
    bp_max_iters: int = 50
    noise_levels: tuple[float, ...] = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5)
    encoders: tuple[str, ...] = ("threshold", "sample")  # VAE bits sent: MAP bits and a posterior sample
    num_draws: int = 5  # channel draws per test image
    max_examples: int = 0  # 0: the whole test split
    batch_size: int = 2000

    def __post_init__(self):
        check_int("separation.channel_bits", self.channel_bits, 2)
        check_int("separation.num_draws", self.num_draws, 1)
        check_int("separation.max_examples", self.max_examples, 0)
        check_int("separation.batch_size", self.batch_size, 1)
        for mode in self.encoders:
            check_choice("separation.encoders", mode, necst.ENCODER_MODES)


@dataclasses.dataclass(frozen=True)
class VAEConfig(necst.NECSTConfig):
    """NECST's sections (``channel`` noiseless), ``vae`` and the baseline's ``separation``."""

    vae: VAEFields = VAEFields()
    separation: SeparationFields = SeparationFields()


@dataclasses.dataclass(frozen=True, eq=False)
class DiscreteVAE(necst.NECST):
    """A discrete VAE with a uniform Bernoulli prior, trained without channel noise.

    Same attributes as :class:`necst.NECST` (``channel`` must be noiseless: the VAE trains on clean latents).
    ``num_samples`` is K of the bound, ``estimator`` the gradient estimator (``estimators.ESTIMATORS``).
    """

    kl_weight: float = VAEFields.kl_weight
    #: The channel-code half of the separation baseline (``launch.baselines --task=vae_ldpc`` reads it here).
    separation: SeparationFields = SeparationFields()
    name: str = "vae"

    CONFIG = VAEConfig

    group_fields = ()  # trained without channel noise: a group varies the seed (and the test grid) only

    def __post_init__(self):
        super().__post_init__()
        if not (isinstance(self.kl_weight, (int, float)) and self.kl_weight >= 0.0):
            raise ValueError(f"vae.kl_weight must be a number >= 0, got {self.kl_weight!r}")
        if self.channel.eps != 0.0:
            raise ValueError(
                f"channel.eps must be 0 for the VAE (it trains without channel noise), got {self.channel.eps}"
            )
        if self.test_noise_rule != "paper":
            raise ValueError(
                f"eval.test_noise_rule must be 'paper' for the VAE (its latents are sent uncoded "
                f"at the test noise), got {self.test_noise_rule!r}"
            )

    # ----------------------------------------------------------------------------------------------------------
    # The bound.

    def log_weights(
        self, params: PyTree, x: jax.Array, z: jax.Array, logits: jax.Array | None = None
    ) -> tuple[jax.Array, jax.Array]:
        """``(log w [K, B], log q(z|x) [K, B])`` for given latent bits ``z`` [K, B, k].

        ``log w = log p(x|z) + beta (log p(z) - log q(z|x))`` with ``beta = kl_weight`` (1: the ELBO's weights);
        ``logits`` (encoder output for x) is recomputed when not given.
        """
        if logits is None:
            logits = self.encode(params, x)
        if z.shape[-1] != logits.shape[-1]:
            raise ValueError(f"z must have {logits.shape[-1]} bits in its last axis, got shape {z.shape}")
        log_q = self.channel.log_prob(z, logits)  # [K, B]
        log_lik = self.log_likelihood(self.decode(params, z), x[None])  # [K, B]
        return log_lik + self.kl_weight * (log_uniform_prior(logits.shape[-1]) - log_q), log_q

    def sample_objective(self, params: PyTree, x: jax.Array, z: jax.Array) -> tuple[jax.Array, jax.Array]:
        """Per-example ``(loss to minimise [B], objective [B])`` for drawn latents ``z`` [K, B, k].

        The loss's gradient (``z`` carries none) is the configured estimator of ``grad L^K`` (``'vimco'``) or of
        ``grad ELBO`` (``'reinforce_loo'``); ``objective`` is the sample's value of that bound (nats).
        """
        log_w, log_q = self.log_weights(params, x, z)
        return estimators.multi_sample_loss(self.estimator, log_w, log_q)

    def draw(self, key: jax.Array, logits: jax.Array, num_samples: int) -> jax.Array:
        """``num_samples`` latent draws from ``q(z|x)``: int32 ``[K, B, k]``."""
        return jax.lax.stop_gradient(self.channel.sample(key, logits, num_samples))

    def elbo_estimate(self, params: PyTree, x: jax.Array, key: jax.Array, num_samples: int) -> jax.Array:
        """Monte Carlo ELBO ``mean_k log w_k`` with ``num_samples`` draws per example, ``[B]`` (nats)."""
        logits = self.encode(params, x)
        z = self.draw(key, logits, num_samples)
        return jnp.mean(self.log_weights(params, x, z, logits)[0], axis=0)

    def bound_estimate(self, params: PyTree, x: jax.Array, key: jax.Array, num_samples: int) -> jax.Array:
        """One draw of the K-sample bound ``log 1/K sum_k w_k`` with K = ``num_samples``, ``[B]`` (nats)."""
        logits = self.encode(params, x)
        z = self.draw(key, logits, num_samples)
        log_w = self.log_weights(params, x, z, logits)[0]
        return jax.nn.logsumexp(log_w, axis=0) - math.log(num_samples)

    # ----------------------------------------------------------------------------------------------------------
    # The trainer contract (init, train_step, eval_batch come from NECST).

    def loss(self, params: PyTree, x: jax.Array, key: jax.Array) -> tuple[jax.Array, dict[str, jax.Array]]:
        """Loss to minimise (surrogate of -L^K plus encoder L2) and scalar metrics."""
        logits = self.encode(params, x)
        z = self.draw(key, logits, self.num_samples)
        log_w, log_q = self.log_weights(params, x, z, logits)
        per_example, objective = estimators.multi_sample_loss(self.estimator, log_w, log_q)
        l2 = self.encoder_l2 * necst.l2_of_kernels(params["encoder"])
        loss = jnp.mean(per_example) + l2
        kl = kl_to_uniform(logits)
        metrics = {
            "loss": loss,
            "objective": jnp.mean(objective),  # the bound being maximised, nats per example
            "elbo": jnp.mean(log_w),  # single-sample ELBO estimate
            "kl": jnp.mean(kl),  # KL(q || uniform), nats per example
            "nll": -jnp.mean(log_w - self.kl_weight * (log_uniform_prior(logits.shape[-1]) - log_q)),
            "encoder_l2": l2,
            "code_mean": jnp.mean(jax.nn.sigmoid(logits)),
        }
        return loss, metrics

    def valid_loss(self, params: PyTree, x: jax.Array, key: jax.Array) -> jax.Array:
        """Negative single-sample ELBO with the analytic KL (weighted by ``kl_weight``), per example."""
        logits = self.encode(params, x)
        z = self.draw(key, logits, 1)
        log_lik = self.log_likelihood(self.decode(params, z), x[None])[0]
        return -(log_lik - self.kl_weight * kl_to_uniform(logits))

    @classmethod
    def from_spec(cls, spec: VAEConfig, data, **fields) -> DiscreteVAE:
        """The VAE of ``experiments/baselines/vae.py``: NECST's networks, likelihood, optimizer and estimator
        (``necst``); ``channel.name`` must be 'bsc' and ``channel.eps`` 0."""
        if spec.channel.name != "bsc":
            raise ValueError(f"channel.name must be 'bsc' for the VAE (latents are bits), got {spec.channel.name!r}")
        return super().from_spec(spec, data, kl_weight=float(spec.vae.kl_weight), separation=spec.separation, **fields)


METHOD = DiscreteVAE
