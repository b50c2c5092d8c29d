"""Neural (weighted) belief propagation: BP unrolled for T flooding iterations with trainable multiplicative weights
(``config.method = 'neural_bp'``).

Nachmani, Marciano, Lugosch, Gross, Burshtein and Be'ery 2018, "Deep learning methods for improved decoding of
linear codes", IEEE JSTSP 12(1): the BP iterations of the Tanner graph of ``H`` become layers whose messages carry
trainable weights (Sec. II, Eqs. (2)-(4)); the loss is the cross-entropy of the marginal output after *every*
iteration, averaged (the multi-loss, Sec. II-A, Eq. (5)); neural normalized and neural offset min-sum (Sec. III)
replace the check update by ``w * prod sign * min`` and ``prod sign * relu(min - beta)``.

Iteration ``t = 1 .. T`` (flooding, the schedule and numerics of :func:`codes.ldpc.bp_decode`, whose iteration
``codes.ldpc.flooding_iteration`` this module calls):

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

Inference (:meth:`NeuralBP.decode_bits`, used by the evaluator through :meth:`NeuralBP.llr_decoder`) is
``bp_decode`` itself with the weights as ``codes.ldpc.BpWeights``: each word stops at its first zero syndrome and the
active words are compacted, as for BP; the decisions are those of the unrolled :meth:`NeuralBP.run` with its freeze
rule (tested on random LLRs and weights). Both go through ``codes.ldpc.flooding_iteration``.

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
        per-slot unrolled kernel takes minutes to compile; ``codes.ldpc.use_stacked``, as ``bp_decode`` chooses."""
        return ldpc.use_stacked(self.graph)

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
    def _kernel(self) -> dict[str, Any]:
        """``bp_decode`` / ``flooding_iteration`` options of the check update: min-sum with ``alpha = 1``, ``beta = 0``
        (the weights or offsets come after it)."""
        return {"algorithm": "sum_product" if self.algorithm == "sum_product" else "min_sum"}

    def bp_weights(self, params: PyTree) -> ldpc.BpWeights:
        """The parameters as ``codes.ldpc.BpWeights`` (``[T, ...]``, or ``[1, ...]`` when tied)."""
        return ldpc.BpWeights(edge=params.get("edge"), offset=params.get("offset"), llr=params.get("llr"))

    def run(self, params: PyTree, llr: jax.Array) -> tuple[jax.Array, jax.Array]:
        """``(posteriors [T, B, n] after each iteration, output [B, n])``: all ``T`` iterations on every word (the
        training path, differentiable). The output is the posterior of the first iteration whose hard decision has a
        zero syndrome, else of the last (the stop rule of ``bp_decode``). Each iteration is
        ``codes.ldpc.flooding_iteration``, the one of ``bp_decode``."""
        graph = self.graph
        clip = jnp.float32(ldpc.DEFAULT_LLR_CLIP)
        one, zero = jnp.float32(1.0), jnp.float32(0.0)
        options = dict(
            alpha=one,
            beta=zero,
            clip=clip,
            check_regular=graph.check_regular,
            var_regular=graph.var_regular,
            stacked=self.stacked,
            **self._kernel(),
        )
        with jax.ensure_compile_time_eval():
            tables = tuple(
                jnp.asarray(a) for a in (graph.check_vars, graph.check_mask, graph.var_edges, graph.var_mask)
            )
        flat_vars = np.asarray(graph.check_vars).T.reshape(-1)

        llr_t = jnp.clip(llr.astype(jnp.float32).T, -clip, clip)  # [n, B]: batch on the minor axis
        width = llr_t.shape[1]
        layers = 1 if self.tied else self.iterations
        xs = {k: jnp.broadcast_to(v, (self.iterations,) + v.shape[1:]) if layers == 1 else v for k, v in params.items()}

        def body(carry, w):
            v2c, out, done = carry
            rows = {k: None if k not in w else w[k][:, None] for k in ("edge", "offset", "llr")}
            v2c, post, ok = ldpc.flooding_iteration(
                v2c, llr_t, tables, edge=rows["edge"], offset=rows["offset"], llr_weight=rows["llr"], **options
            )
            out = jnp.where(done[None, :], out, post)
            return (v2c, out, done | ok), post

        v2c0 = jnp.take(llr_t, flat_vars, axis=0, mode="clip")
        init = (v2c0, llr_t, jnp.zeros((width,), bool))
        (_, out, _), posts = jax.lax.scan(body, init, xs)
        return jnp.swapaxes(posts, 1, 2), out.T

    def decode_llr(self, params: PyTree, llr: jax.Array) -> jax.Array:
        return self.run(params, llr)[1]

    def decode_bits(self, params: PyTree, llr: Any, **bp_options: Any) -> ldpc.BpResult:
        """Inference: the decisions of :meth:`decode_llr` (``(bits [B, n], converged [B], iterations [B])``) by
        ``codes.ldpc.bp_decode`` with these weights, so each word stops at its first zero syndrome and, for host
        (NumPy) input, the still active words are compacted into smaller tiles; traced input (inside ``jit``) runs
        the batch until every word has stopped. ``bp_options``: ``bp_decode``'s ``compaction``, ``tile``."""
        return ldpc.bp_decode(
            self.graph,
            llr,
            max_iters=self.iterations,
            weights=self.bp_weights(params),
            stacked=self.stacked,
            **({"alpha": 1.0, "beta": 0.0} if self.algorithm != "sum_product" else {}),
            **self._kernel(),
            **bp_options,
        )

    def llr_decoder(self, params: PyTree):
        """``llr -> (messages, codewords)`` for the evaluator, through :meth:`decode_bits` (same decisions as
        :meth:`decode_llr`, with the per-word early exit)."""
        tables = self.tables

        def decode(llr: jax.Array) -> tuple[jax.Array, jax.Array]:
            bits = self.decode_bits(params, llr).bits
            return tables.unencode(bits), bits

        return decode

    def loss(self, params: PyTree, llr: jax.Array, key: jax.Array) -> tuple[jax.Array, dict[str, jax.Array]]:
        """Mean BCE against the all-zero word of every iteration's posterior (``multi``: Nachmani et al. 2018,
        Eq. (5)) or of the last one (``final``); aux: the bit error rate of the last iteration and of the output."""
        posts, out = self.run(params, llr)
        bce = jnp.mean(jax.nn.softplus(-posts), axis=(1, 2))  # [T]
        loss = jnp.mean(bce) if self.loss_name == "multi" else bce[-1]
        return loss, {"bce_last": bce[-1], "ber": jnp.mean((out < 0).astype(jnp.float32))}


METHOD = NeuralBP
