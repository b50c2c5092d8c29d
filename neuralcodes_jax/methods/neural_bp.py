"""Neural (weighted) belief propagation: BP unrolled for T flooding iterations with trainable multiplicative weights
(``config.method = 'neural_bp'``).

Nachmani, Marciano, Lugosch, Gross, Burshtein and Be'ery 2018, "Deep learning methods for improved decoding of
linear codes", IEEE JSTSP 12(1): the BP iterations of the Tanner graph of ``H`` become layers whose messages carry
trainable weights (Sec. II, Eqs. (2)-(4)); the loss is the cross-entropy of the marginal output after *every*
iteration, averaged (the multi-loss, Sec. II-A, Eq. (5)); neural normalized and neural offset min-sum (Sec. III)
replace the check update by ``w * prod sign * min`` and ``prod sign * relu(min - beta)``.

Iteration ``t = 1 .. T`` (flooding, the schedule and numerics of :func:`codes.ldpc.bp_decode`, whose check-update
kernel this module calls):

* check update: ``m_{c->v}`` from ``m_{v'->c}`` by the tanh rule (``sum_product``), by min-sum times the weight
  ``w_{t,(c,v)}`` (``normalized_min_sum``) or by min-sum with magnitude ``relu(min - beta_{t,(c,v)})``
  (``offset_min_sum``);
* sum-product: each ``m_{c->v}`` is multiplied by ``w_{t,(c,v)}`` wherever it enters a variable-node sum (the
  per-edge form of the paper's variable-node weights, as Sionna's ``WeightedBPCallback``);
* posterior ``L_v^t = u_{t,v} L_v + sum_c m_{c->v}`` (``u``: trainable channel-LLR weights, ``model.llr_weights``);
  ``m_{v->c} = clip(L_v^t - m_{c->v})``.

Weights are per edge and iteration, or shared across iterations (``model.tied``). With every weight 1 (and every
offset 0) the decoder is exactly ``bp_decode(H, llr, max_iters=T)`` (sum-product; min-sum with ``alpha=1``),
including its stop rule: a word's output is frozen at the first iteration whose hard decision has a zero syndrome
(``tests/test_methods_neural_bp.py``). The loss ignores the stop rule (every iteration's posterior is scored).

Training setting (``experiments/neural_decoders/neural_bp.py``): T = 5 iterations, RMSprop with learning rate 1e-3,
batches of 120 all-zero words at Eb/N0 drawn from 1..6 dB: our reading of Nachmani et al. 2018 (Sec. V) for the BCH
codes (we found no public code of the paper to check them against); the paper gives no step count, so the
budget is stated where it is used.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from neuralcodes_jax.codes import ldpc
from neuralcodes_jax.config_utils import check_bool, check_choice, check_int
from neuralcodes_jax.methods import _neural_decoder as nd

PyTree = Any

ALGORITHMS = ("sum_product", "normalized_min_sum", "offset_min_sum")
OPTIMIZERS = ("rmsprop", "adam")
LOSSES = ("multi", "final")
#: Graphs with a check or variable degree above this use the stacked iteration (:attr:`NeuralBP.stacked`).
STACKED_ABOVE_DEGREE = 32


def _complement(a: jax.Array, b: jax.Array) -> jax.Array:
    """``1 - (1 - a)(1 - b)`` (associative; ``codes.ldpc._complement_product``)."""
    return ldpc._complement_product(a, b)


def _sum_product_stacked(v: jax.Array, mask: jax.Array, clip: jax.Array) -> jax.Array:
    """The sum-product check update of ``codes.ldpc._check_update`` on stacked slots ``v [d_c, m, B]`` (mask
    ``[d_c, m, 1]``): ``u = 1 - tanh(|v| / 2)``, leave-one-out complement products from inclusive prefix and suffix
    scans, magnitude ``min(log(2 / w - 1), clip)``, sign the parity of the other negative inputs."""
    u = jnp.where(mask, 2.0 / (jnp.exp(jnp.abs(v)) + 1.0), 0.0)
    neg = mask & (v < 0)
    pre = jax.lax.associative_scan(_complement, u, axis=0)
    suf = jax.lax.associative_scan(_complement, u, axis=0, reverse=True)
    zero = jnp.zeros_like(u[:1])
    w = _complement(jnp.concatenate([zero, pre[:-1]], axis=0), jnp.concatenate([suf[1:], zero], axis=0))
    sign = jnp.logical_xor(jnp.sum(neg, axis=0, dtype=jnp.int32, keepdims=True) % 2 == 1, neg)
    return jnp.where(sign, -1.0, 1.0) * jnp.minimum(jnp.log(2.0 / w - 1.0), clip)


@dataclasses.dataclass(frozen=True)
class ModelFields:
    """``model``: the unrolled decoder."""

    iterations: int = 5
    algorithm: str = "sum_product"  # ALGORITHMS
    tied: bool = False  # one set of weights shared by every iteration
    llr_weights: bool = True  # trainable weights on the channel LLRs (per variable, per iteration)


@dataclasses.dataclass(frozen=True)
class TrainFields(nd.TrainSection):
    """``train`` fields of neural BP (the loop's own are ``specs.LoopTrain``)."""

    optimizer: str = "rmsprop"  # OPTIMIZERS
    loss: str = "multi"  # LOSSES: every iteration's BCE (Nachmani et al. 2018, Eq. (5)) or the last


@dataclasses.dataclass(frozen=True)
class ChannelFields(nd.ChannelSection):
    """``channel``: training Eb/N0 values (dB), 1..6 dB as in Nachmani et al. 2018 (Sec. V)."""

    ebno_db: tuple[float, ...] = (1.0, 2.0, 3.0, 4.0, 5.0, 6.0)


@dataclasses.dataclass(frozen=True)
class NeuralBPConfig(nd.NeuralDecoderConfig):
    """What neural BP reads from a config."""

    channel: ChannelFields = ChannelFields()
    model: ModelFields = ModelFields()
    train: TrainFields = TrainFields()


@dataclasses.dataclass(frozen=True, eq=False)
class NeuralBP(nd.NeuralDecoderMethod):
    """Neural BP (module docstring)."""

    iterations: int = ModelFields.iterations
    algorithm: str = ModelFields.algorithm
    tied: bool = ModelFields.tied
    llr_weights: bool = ModelFields.llr_weights
    optimizer_name: str = TrainFields.optimizer
    loss_name: str = TrainFields.loss
    name: str = "neural_bp"
    ebno_db: tuple[float, ...] = ChannelFields.ebno_db

    CONFIG = NeuralBPConfig

    def __post_init__(self) -> None:
        super().__post_init__()
        check_int("model.iterations", self.iterations, 1, 1000)
        check_choice("model.algorithm", self.algorithm, ALGORITHMS)
        check_bool("model.tied", self.tied)
        check_bool("model.llr_weights", self.llr_weights)
        check_choice("train.optimizer", self.optimizer_name, OPTIMIZERS)
        check_choice("train.loss", self.loss_name, LOSSES)
        object.__setattr__(self, "_graph", ldpc.TannerGraph.from_parity_check(self.parity_check))

    @classmethod
    def from_spec(cls, spec: NeuralBPConfig, data: Any = None) -> NeuralBP:
        m, t = spec.model, spec.train
        return cls(
            **cls.base_kwargs(spec),
            iterations=m.iterations,
            algorithm=m.algorithm,
            tied=m.tied,
            llr_weights=m.llr_weights,
            optimizer_name=t.optimizer,
            loss_name=t.loss,
        )

    @property
    def graph(self) -> ldpc.TannerGraph:
        return self._graph  # type: ignore[attr-defined]

    @property
    def stacked(self) -> bool:
        """Whether the iteration works on stacked slots ``[d_c, m, B]`` (vectorised leave-one-out, one gather per
        variable side): for high-degree graphs (the polar codes' matrices have check degrees up to 128), whose
        per-slot unrolled kernel takes minutes to compile. Same values up to float rounding."""
        return self.graph.max_check_degree > STACKED_ABOVE_DEGREE or self.graph.max_var_degree > STACKED_ABOVE_DEGREE

    def eval_settings(self) -> dict[str, Any]:
        return {
            **super().eval_settings(),
            "iterations": self.iterations,
            "algorithm": self.algorithm,
            "tied": self.tied,
        }

    # -- parameters ---------------------------------------------------------------------------------------------
    def init_params(self, key: jax.Array) -> PyTree:
        """All-ones weights (and zero offsets): the decoder starts as plain BP (min-sum with ``alpha = 1``)."""
        layers = 1 if self.tied else self.iterations
        edges = self.graph.m * self.graph.max_check_degree  # slot-major edge slots (padded ones unused)
        params = {}
        if self.algorithm == "offset_min_sum":
            params["offset"] = jnp.zeros((layers, edges), jnp.float32)
        else:
            params["edge"] = jnp.ones((layers, edges), jnp.float32)
        if self.llr_weights:
            params["llr"] = jnp.ones((layers, self.n), jnp.float32)
        return params

    def optimizer(self) -> optax.GradientTransformation:
        # optax.rmsprop's defaults (decay 0.9, eps 1e-8) are TensorFlow's RMSProp defaults, what the paper used.
        return optax.rmsprop(self.lr) if self.optimizer_name == "rmsprop" else optax.adam(self.lr)

    # -- the decoder --------------------------------------------------------------------------------------------
    def run(self, params: PyTree, llr: jax.Array) -> tuple[jax.Array, jax.Array]:
        """``(posteriors [T, B, n] after each iteration, output [B, n])``: the output is the posterior of the first
        iteration whose hard decision has a zero syndrome, else of the last (the stop rule of ``bp_decode``)."""
        graph = self.graph
        m, dc = graph.m, graph.max_check_degree
        dv = graph.max_var_degree
        clip = jnp.float32(ldpc.DEFAULT_LLR_CLIP)
        check_vars = np.asarray(graph.check_vars)
        var_edges = np.asarray(graph.var_edges)
        flat_vars = check_vars.T.reshape(-1)
        masks = None if graph.check_regular else [jnp.asarray(graph.check_mask[:, j : j + 1]) for j in range(dc)]
        var_mask = None if graph.var_regular else jnp.asarray(graph.var_mask)
        kernel = "sum_product" if self.algorithm == "sum_product" else "min_sum"
        one, zero = jnp.float32(1.0), jnp.float32(0.0)

        llr_t = jnp.clip(llr.astype(jnp.float32).T, -clip, clip)  # [n, B]: batch on the minor axis
        width = llr_t.shape[1]
        layers = 1 if self.tied else self.iterations
        xs = {k: jnp.broadcast_to(v, (self.iterations,) + v.shape[1:]) if layers == 1 else v for k, v in params.items()}

        stacked = self.stacked
        smask = jnp.asarray(graph.check_mask.T[:, :, None])  # [d_c, m, 1]
        vmask = jnp.asarray(graph.var_mask[:, :, None])  # [n, d_v, 1]

        def check_update(v2c):
            if not stacked:  # bp_decode's per-slot kernel (fast for small degrees)
                slots = [v2c[j * m : (j + 1) * m] for j in range(dc)]
                return jnp.concatenate(ldpc._check_update(slots, masks, kernel, one, clip, zero), axis=0)
            v = v2c.reshape(dc, m, -1)
            if kernel == "min_sum":
                return ldpc._min_sum_stacked(v, smask, one, zero, clip).reshape(v2c.shape)
            return _sum_product_stacked(v, smask, clip).reshape(v2c.shape)

        def var_sum(c2v):
            if not stacked:
                total = 0.0
                for k in range(dv):
                    g = jnp.take(c2v, var_edges[:, k], axis=0, mode="clip")
                    total = total + (g if var_mask is None else jnp.where(var_mask[:, k : k + 1], g, 0.0))
                return total
            g = jnp.take(c2v, var_edges.reshape(-1), axis=0, mode="clip").reshape(self.n, dv, -1)
            return jnp.sum(jnp.where(vmask, g, 0.0), axis=1)

        def body(carry, w):
            v2c, out, done = carry
            c2v = check_update(v2c)  # [E, B], slot-major edges
            if "offset" in w:
                c2v = jnp.sign(c2v) * jax.nn.relu(jnp.abs(c2v) - w["offset"][:, None])
            else:
                c2v = c2v * w["edge"][:, None]
            post = (llr_t * w["llr"][:, None] if "llr" in w else llr_t) + var_sum(c2v)
            p_edge = jnp.take(post, flat_vars, axis=0, mode="clip")
            hard = p_edge < 0
            parity = hard[:m] if masks is None else hard[:m] & masks[0]
            for j in range(1, dc):
                h = hard[j * m : (j + 1) * m]
                parity = parity ^ (h if masks is None else h & masks[j])
            ok = ~jnp.any(parity, axis=0)
            out = jnp.where(done[None, :], out, post)
            return (jnp.clip(p_edge - c2v, -clip, clip), out, done | ok), post

        v2c0 = jnp.take(llr_t, flat_vars, axis=0, mode="clip")
        init = (v2c0, llr_t, jnp.zeros((width,), bool))
        (_, out, _), posts = jax.lax.scan(body, init, xs)
        return jnp.swapaxes(posts, 1, 2), out.T

    def decode_llr(self, params: PyTree, llr: jax.Array) -> jax.Array:
        return self.run(params, llr)[1]

    def loss(self, params: PyTree, llr: jax.Array, key: jax.Array) -> tuple[jax.Array, dict[str, jax.Array]]:
        """Mean BCE against the all-zero word of every iteration's posterior (``multi``: Nachmani et al. 2018,
        Eq. (5)) or of the last one (``final``); aux: the bit error rate of the last iteration and of the output."""
        posts, out = self.run(params, llr)
        bce = jnp.mean(jax.nn.softplus(-posts), axis=(1, 2))  # [T]
        loss = jnp.mean(bce) if self.loss_name == "multi" else bce[-1]
        return loss, {"bce_last": bce[-1], "ber": jnp.mean((out < 0).astype(jnp.float32))}


METHOD = NeuralBP
