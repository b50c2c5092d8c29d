"""The Error Correction Code Transformer as a neural decoder of a fixed code (``config.method = 'ecct'``).

Choukroun & Wolf 2022, "Error Correction Code Transformer", NeurIPS (arXiv:2203.14966); the network is
:class:`nets.ecct.ECCT` (masked self-attention over the ``n`` bits and ``n-k`` checks, paper Sec. 4, Fig. 3). The
decoder's input is the magnitude of the channel output and the syndrome of its hard decisions (paper Eq. 5), so its
errors do not depend on the codeword sent and it trains on the all-zero word (paper Sec. 4.1;
:class:`_neural_decoder.NeuralDecoderMethod`).

Loss: the binary cross-entropy of the predicted multiplicative noise ``z_hat`` against the sign of the true one
``z_s = y x_s`` (paper Eq. 8; ``Model.loss`` with ``BCEWithLogits(-z_hat, bin(sign(z_s)))`` in the public code).
For the all-zero word ``z_s = y``, and with the output LLR ``L_out = z_hat sign(y)`` this is exactly the shared
base's loss ``softplus(-L_out)``, which is therefore used unchanged.

Where the paper leaves a choice open this follows the public code (github.com/yoniLc/ECCT, ``Main.py``):
Adam, learning rate 1e-4 with cosine annealing to 1e-6 (``CosineAnnealingLR(T_max=epochs, eta_min=1e-6)``, stepped
per epoch there, per step here), batches of 128, 1000 epochs of 1000 steps (1.28e8 training words), training Eb/N0
drawn per example from {2, ..., 7} dB, 8 attention heads, no dropout.

One difference forced by the shared interface: a neural decoder here receives channel LLRs ``L = 2 y / sigma^2``,
not ``y``, and ``sigma`` is not passed at evaluation. The magnitude input is therefore ``|L| * model.llr_scale``
(default: ``sigma_mid^2 / 2``, with ``sigma_mid`` the noise std at the midpoint of the training Eb/N0 range, so the
input equals the public code's ``|y|`` at that Eb/N0 and differs by the factor ``sigma_mid^2 / sigma^2`` elsewhere).
The sign of ``L`` is the sign of ``y``, so the syndrome and the decision are the paper's.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from neuralcodes_jax.codes import bounds
from neuralcodes_jax.config_utils import check_int, check_positive
from neuralcodes_jax.methods import _neural_decoder as nd
from neuralcodes_jax.nets import ecct as ecct_net

PyTree = Any


@dataclasses.dataclass(frozen=True)
class ModelFields:
    """``model``: the transformer (paper notation: ``N`` layers, width ``d``; ``h`` heads of the public code)."""

    num_layers: int = 6  # N
    d_model: int = 32  # d
    num_heads: int = 8  # h (public code default)
    llr_scale: float | None = None  # magnitude input = |L| * llr_scale; None: sigma_mid^2 / 2 (module docstring)


@dataclasses.dataclass(frozen=True)
class TrainFields(nd.TrainSection):
    """``train`` fields of ECCT: the public code's schedule (1000 epochs x 1000 steps of 128 words, Adam 1e-4 with
    cosine annealing to ``lr_min``)."""

    steps: int = 1_000_000
    batch_size: int = 128
    lr: float = 1e-4
    lr_min: float = 1e-6


@dataclasses.dataclass(frozen=True)
class ECCTConfig(nd.NeuralDecoderConfig):
    """What ECCT reads from a config (``channel.ebno_db`` keeps the base default 2..7 dB, the public code's)."""

    model: ModelFields = ModelFields()
    train: TrainFields = TrainFields()


@dataclasses.dataclass(frozen=True, eq=False)
class ECCT(nd.NeuralDecoderMethod):
    """ECCT (module docstring)."""

    num_layers: int = ModelFields.num_layers
    d_model: int = ModelFields.d_model
    num_heads: int = ModelFields.num_heads
    llr_scale: float | None = ModelFields.llr_scale
    lr_min: float = TrainFields.lr_min
    steps: int = TrainFields.steps
    batch_size: int = TrainFields.batch_size
    lr: float = TrainFields.lr
    name: str = "ecct"

    CONFIG = ECCTConfig

    def __post_init__(self) -> None:
        super().__post_init__()
        check_int("model.num_layers", self.num_layers, 1, 64)
        check_int("model.d_model", self.d_model, 1)
        check_int("model.num_heads", self.num_heads, 1)
        if self.d_model % self.num_heads:
            raise ValueError(f"model.num_heads must divide model.d_model={self.d_model}, got {self.num_heads}")
        if self.llr_scale is not None:
            check_positive("model.llr_scale", self.llr_scale)
        check_positive("train.lr_min", self.lr_min)
        if self.lr_min > self.lr:
            raise ValueError(f"train.lr_min must be <= train.lr={self.lr}, got {self.lr_min}")
        h = ecct_net.check_parity_check(self.parity_check, f"parity-check matrix of code {self.code.name!r}")
        object.__setattr__(
            self, "_net", ecct_net.ECCT(tuple(map(tuple, h.tolist())), self.num_layers, self.d_model, self.num_heads)
        )

    @classmethod
    def from_spec(cls, spec: ECCTConfig, data: Any = None) -> ECCT:
        m, t = spec.model, spec.train
        return cls(
            **cls.base_kwargs(spec),
            num_layers=m.num_layers,
            d_model=m.d_model,
            num_heads=m.num_heads,
            llr_scale=m.llr_scale,
            lr_min=t.lr_min,
        )

    @property
    def net(self) -> ecct_net.ECCT:
        return self._net  # type: ignore[attr-defined]

    @property
    def magnitude_scale(self) -> float:
        """The factor from ``|L|`` to the network's magnitude input (``model.llr_scale``, module docstring)."""
        if self.llr_scale is not None:
            return float(self.llr_scale)
        mid = 0.5 * (min(self.ebno_db) + max(self.ebno_db))
        return float(bounds.ebn0_db_to_sigma(mid, self.rate)) ** 2 / 2.0

    def eval_settings(self) -> dict[str, Any]:
        return {
            **super().eval_settings(),
            "num_layers": self.num_layers,
            "d_model": self.d_model,
            "num_heads": self.num_heads,
            "magnitude_scale": self.magnitude_scale,
        }

    # -- parameters and optimizer ------------------------------------------------------------------------------
    def init_params(self, key: jax.Array) -> PyTree:
        m, n = self.parity_check.shape
        return self.net.init(key, jnp.zeros((1, n), jnp.float32), jnp.zeros((1, m), jnp.uint8))["params"]

    def learning_rate(self) -> optax.Schedule:
        """Cosine annealing from ``train.lr`` to ``train.lr_min`` over ``train.steps``."""
        return optax.cosine_decay_schedule(self.lr, self.steps, alpha=self.lr_min / self.lr)

    def optimizer(self) -> optax.GradientTransformation:
        return optax.adam(self.learning_rate())

    # -- the decoder --------------------------------------------------------------------------------------------
    def noise_estimate(self, params: PyTree, llr: jax.Array) -> jax.Array:
        """``z_hat [B, n]``: the network's soft estimate of the multiplicative noise (positive: sign of ``L``
        right) from the magnitude ``|L| * scale`` and the syndrome of the hard decisions of ``L``."""
        llr = jnp.asarray(llr, jnp.float32)
        magnitude, syndrome = ecct_net.ecct_inputs(llr, self.parity_check)
        return self.net.apply({"params": params}, magnitude * self.magnitude_scale, syndrome)

    def decode_llr(self, params: PyTree, llr: jax.Array) -> jax.Array:
        """Output LLRs ``z_hat * sign(L)`` (negative: bit 1; paper Eq. 4's ``x_hat = bin(sign(y z_hat))``)."""
        return ecct_net.output_llr(llr, self.noise_estimate(params, llr))


METHOD = ECCT


def parameter_count(params: PyTree) -> int:
    """Number of trainable scalars."""
    return int(sum(np.prod(np.shape(a)) for a in jax.tree.leaves(params)))
