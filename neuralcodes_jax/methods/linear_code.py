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

Schedules (issue 24), each running within a cycle (the whole run unless ``train.cycles > 1``):

* ``surrogate.tau_schedule = 'geometric'``: the softmin temperature goes geometrically from ``surrogate.tau`` to
  ``surrogate.tau_final`` over the cycle (``'constant'``: ``tau`` throughout);
* ``surrogate.start`` with ``surrogate.switch_fraction = f``: the first ``f`` of the cycle's steps train on the
  surrogate ``start`` (e.g. ``union``), the rest on ``surrogate.name`` (e.g. ``softmin``);
* ``train.cycles = C``: perturb-and-reoptimise. The run's steps are split into ``C`` equal cycles; each later cycle
  starts (a one-step stage of its own, so no step pays for a branch) from the chain's best binarized code so far
  with each entry flipped with probability ``train.perturb``, at logit magnitude ``train.restart_scale``, with a
  fresh optimizer state and the penalty, temperature and switch schedules started again. The best binarized code
  of each chain over the cycle ends is kept in ``params['best']`` and competes in :meth:`generator`;
* ``train.penalty_floor = c``: the logit penalty never fades below ``c`` times its start (a permanent pull toward
  small logits against the saturation of the entries; the metric ``saturated`` is the fraction of ``|theta|`` above
  :data:`SATURATION_LOGIT`).

The surrogate that picks the best chain (and that the evaluator's polish stage descends, :meth:`polish`) is the
final one: ``surrogate.name`` at ``tau_final`` under the geometric schedule, else at ``tau``.

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
from neuralcodes_jax.codes import flip_descent, relaxed
from neuralcodes_jax.config_utils import check_choice, check_int, check_positive, check_real
from neuralcodes_jax.methods import base as base_lib

PyTree = Any

#: Largest ``n`` of a learned linear code (the exact evaluation uses a syndrome table of ``2^(n-k)`` cosets and
#: 64-bit words).
MAX_N = 31
MAX_REDUNDANCY = 20
#: An entry counts as saturated (the metric ``saturated``) when ``|theta|`` exceeds this: the sigmoid's slope is
#: below 0.018 there, a 14th of its value at 0.
SATURATION_LOGIT = 4.0
TAU_SCHEDULES = ("constant", "geometric")


@dataclasses.dataclass(frozen=True)
class SurrogateFields:
    """``surrogate``: the differentiable surrogate of the code's quality (``codes.relaxed.surrogate_loss``)."""

    name: str = "union"  # codes.relaxed.SURROGATES
    p: float = 0.01  # BSC crossover of the union bound
    tau: float = 0.5  # softmin temperature
    distance: int = 3  # target distance of the 'distance' surrogate
    max_message_weight: int = 0  # 0: all nonzero messages; else messages of weight <= this
    tau_schedule: str = "constant"  # TAU_SCHEDULES: 'geometric' goes from tau to tau_final over each cycle
    tau_final: float = 0.1
    start: str = ""  # '' or a surrogate trained on for the first switch_fraction of each cycle
    switch_fraction: float = 0.0


@dataclasses.dataclass(frozen=True)
class TrainFields:
    """``train`` fields of the method (the loop's own are ``specs.LoopTrain``)."""

    steps: int = 4000
    lr: float = 0.05
    init_scale: float = 0.1
    logit_penalty: float = 3.0  # annealed lambda (1 - t / (anneal_fraction T)) mean(theta^2)
    gradient_noise: float = 0.0
    anneal_fraction: float = 0.8
    restarts: int = 1  # independent chains per run; the run keeps the best binarized one
    cycles: int = 1  # perturb-and-reoptimise cycles per chain (steps split equally)
    perturb: float = 0.1  # probability of flipping each entry of the best code at a restart
    restart_scale: float = 1.0  # logit magnitude of a restarted chain
    penalty_floor: float = 0.0  # the penalty's fade never goes below this fraction
    restart_penalty: float = 1.0  # factor on the logit penalty in the cycles after the first (0: none)


@dataclasses.dataclass(frozen=True)
class LinearCodeConfig:
    """What the method reads from a config (``experiments/linear_code/codes.py``)."""

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
    tau_schedule: str = SurrogateFields.tau_schedule
    tau_final: float = SurrogateFields.tau_final
    start: str = SurrogateFields.start
    switch_fraction: float = SurrogateFields.switch_fraction
    cycles: int = TrainFields.cycles
    perturb: float = TrainFields.perturb
    restart_scale: float = TrainFields.restart_scale
    penalty_floor: float = TrainFields.penalty_floor
    restart_penalty: float = TrainFields.restart_penalty
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
            raise ValueError(
                f"code.n - code.k must be <= {MAX_REDUNDANCY} for the exact syndrome evaluation, got {self.n - self.k}"
            )
        check_choice("surrogate.name", self.surrogate, relaxed.SURROGATES)
        if not 0.0 < check_real("surrogate.p", self.p) < 0.5:
            raise ValueError(f"surrogate.p must be in (0, 0.5), got {self.p!r}")
        check_positive("surrogate.tau", self.tau)
        check_int("surrogate.distance", self.distance, 2, self.n)
        object.__setattr__(self, "max_message_weight", relaxed.check_messages(self.k, self.max_message_weight))
        check_int("train.steps", self.steps, 1)
        check_positive("train.lr", self.lr)
        check_positive("train.init_scale", self.init_scale)
        check_positive("train.logit_penalty", self.logit_penalty, allow_zero=True)
        check_positive("train.gradient_noise", self.gradient_noise, allow_zero=True)
        if not 0.0 < check_real("train.anneal_fraction", self.anneal_fraction) <= 1.0:
            raise ValueError(f"train.anneal_fraction must be in (0, 1], got {self.anneal_fraction!r}")
        check_int("train.restarts", self.restarts, 1, 1024)
        check_choice("surrogate.tau_schedule", self.tau_schedule, TAU_SCHEDULES)
        check_positive("surrogate.tau_final", self.tau_final)
        check_choice("surrogate.start", self.start, ("",) + relaxed.SURROGATES)
        if not 0.0 <= check_real("surrogate.switch_fraction", self.switch_fraction) < 1.0:
            raise ValueError(f"surrogate.switch_fraction must be in [0, 1), got {self.switch_fraction!r}")
        if bool(self.start) != (self.switch_fraction > 0):
            raise ValueError(
                f"surrogate.start and surrogate.switch_fraction go together (a start surrogate needs a "
                f"switch_fraction in (0, 1) and the reverse), got start={self.start!r}, "
                f"switch_fraction={self.switch_fraction!r}"
            )
        check_int("train.cycles", self.cycles, 1, 1024)
        if self.steps % self.cycles or self.steps // self.cycles < 2:
            raise ValueError(
                f"train.cycles must divide train.steps={self.steps} into cycles of at least 2 steps, got {self.cycles}"
            )
        if not 0.0 <= check_real("train.perturb", self.perturb) <= 0.5:
            raise ValueError(f"train.perturb must be in [0, 0.5], got {self.perturb!r}")
        check_positive("train.restart_scale", self.restart_scale)
        if not 0.0 <= check_real("train.penalty_floor", self.penalty_floor) <= 1.0:
            raise ValueError(f"train.penalty_floor must be in [0, 1], got {self.penalty_floor!r}")
        check_positive("train.restart_penalty", self.restart_penalty, allow_zero=True)

    @classmethod
    def from_spec(cls, spec: LinearCodeConfig, data: Any = None) -> LinearCodeMethod:
        s, t = spec.surrogate, spec.train
        return cls(
            n=spec.code.n,
            k=spec.code.k,
            surrogate=s.name,
            p=s.p,
            tau=s.tau,
            distance=s.distance,
            max_message_weight=s.max_message_weight,
            steps=t.steps,
            lr=t.lr,
            init_scale=t.init_scale,
            logit_penalty=t.logit_penalty,
            gradient_noise=t.gradient_noise,
            anneal_fraction=t.anneal_fraction,
            restarts=t.restarts,
            tau_schedule=s.tau_schedule,
            tau_final=s.tau_final,
            start=s.start,
            switch_fraction=s.switch_fraction,
            cycles=t.cycles,
            perturb=t.perturb,
            restart_scale=t.restart_scale,
            penalty_floor=t.penalty_floor,
            restart_penalty=t.restart_penalty,
        )

    @property
    def channel(self):
        return channels.BSC(float(self.p))

    def eval_settings(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "k": self.k,
            "surrogate": self.surrogate,
            "restarts": self.restarts,
            "training": self.describe(),
        }

    def describe(self) -> str:
        """The training in words: surrogate and schedules, then chains x steps per seed (the compute)."""
        parts = [f"{self.start} -> {self.surrogate} at {self.switch_fraction:g}" if self.start else self.surrogate]
        if self.surrogate == "softmin" or self.start == "softmin":
            parts.append(
                f"tau {self.tau:g} -> {self.tau_final:g} geometric"
                if self.tau_schedule == "geometric"
                else f"tau {self.tau:g}"
            )
        if self.lr != TrainFields.lr:
            parts.append(f"lr {self.lr:g}")
        if self.logit_penalty != TrainFields.logit_penalty:
            parts.append(f"logit penalty {self.logit_penalty:g}")
        if self.penalty_floor > 0:
            parts.append(f"penalty floor {self.penalty_floor:g}")
        if self.cycles > 1:
            penalty = "" if self.restart_penalty == 1 else f", penalty x {self.restart_penalty:g} after the first"
            parts.append(f"{self.cycles} perturb-and-reoptimise cycles (flip {self.perturb:g}{penalty})")
        parts.append(f"{self.restarts} chain{'s' if self.restarts > 1 else ''} x {self.steps} steps")
        return ", ".join(parts)

    @property
    def cycle_steps(self) -> int:
        return self.steps // self.cycles

    def stages(self) -> tuple[base_lib.Stage, ...]:
        if self.cycles == 1:
            return (base_lib.Stage("train", self.steps),)
        out = [base_lib.Stage("train", self.cycle_steps)]
        for c in range(1, self.cycles):
            out += [base_lib.Stage(f"restart{c}", 1), base_lib.Stage(f"train{c}", self.cycle_steps - 1)]
        return tuple(out)

    def optimizer(self) -> optax.GradientTransformation:
        return optax.adam(self.lr)

    def init(self, key: jax.Array, example_x: Any = None) -> PyTree:
        theta = self.init_scale * jax.random.normal(key, (self.restarts, self.k, self.n - self.k), jnp.float32)
        params = {"theta": theta}
        opt_state = self.optimizer().init(params)
        if self.cycles > 1:
            params["best"] = {"signs": jnp.zeros_like(theta), "value": jnp.full((self.restarts,), jnp.inf, jnp.float32)}
        return {"params": params, "opt_state": opt_state, "step": jnp.zeros((), jnp.int32)}

    @property
    def final_tau(self) -> float:
        return self.tau_final if self.tau_schedule == "geometric" else self.tau

    def _loss_of_spectrum(self, spectrum: jax.Array, name: str, tau: Any) -> jax.Array:
        if name == "softmin" and self.tau_schedule == "geometric":
            # tau * log sum_w A_w exp(-w / tau), by a log-sum-exp (tau_final = 0.1 puts exp(-w / tau) below float32)
            w = jnp.arange(1, spectrum.shape[-1], dtype=spectrum.dtype)
            a = jnp.where(spectrum[1:] > 0, jnp.log(jnp.maximum(spectrum[1:], 1e-30)) - w / tau, -jnp.inf)
            return tau * jax.nn.logsumexp(a)
        return relaxed.surrogate_loss(spectrum, name, p=self.p, tau=tau, distance=self.distance)

    def surrogate_value(self, theta: jax.Array) -> jax.Array:
        """The (final) surrogate of entry logits ``theta [k, n - k]``."""
        spectrum = relaxed.expected_spectrum(theta, self.max_message_weight)
        return self._loss_of_spectrum(spectrum, self.surrogate, self.final_tau)

    def _scheduled_value(self, theta: jax.Array, frac: jax.Array) -> jax.Array:
        """The surrogate trained on at the fraction ``frac`` of a cycle (temperature and switch schedules)."""
        spectrum = relaxed.expected_spectrum(theta, self.max_message_weight)
        tau = self.tau
        if self.tau_schedule == "geometric":
            tau = self.tau * (self.tau_final / self.tau) ** frac
        value = self._loss_of_spectrum(spectrum, self.surrogate, tau)
        if self.start:
            first = self._loss_of_spectrum(spectrum, self.start, tau)
            value = jnp.where(frac < self.switch_fraction, first, value)
        return value

    def polish(self, generator: Any, pairs: bool = True) -> tuple[Any, dict]:
        """Single- (and with ``pairs`` double-) flip descent of the final surrogate from a binary generator
        ``[k, n]`` (``codes.flip_descent.descend``): the polished generator and what the descent did."""
        g = jnp.asarray(generator)
        out = flip_descent.descend(jax.device_get(g[:, self.k :]), pairs=pairs, **self.exact_surrogate())
        p_bits = out.pop("p_bits")
        return relaxed.generator_from_logits(2.0 * p_bits - 1.0), out

    def exact_surrogate(self) -> dict:
        """The run's final surrogate as ``codes.flip_descent`` takes it (its descent and tabu search)."""
        return dict(
            max_message_weight=self.max_message_weight,
            name=self.surrogate,
            p=self.p,
            tau=self.final_tau,
            distance=self.distance,
        )

    def binarized_values(self, theta: jax.Array) -> jax.Array:
        """The surrogate of each chain's binarized code ``[I | 1[theta > 0]]`` (exact: a function of its weight
        enumerator), ``[restarts]``."""
        hard = jnp.where(theta > 0, 30.0, -30.0)
        return jax.vmap(self.surrogate_value)(hard)

    def generator(self, params: Any) -> Any:
        """The learned code of a run (its parameters, or the logits ``theta [restarts, k, n - k]``): the
        binarized chain with the lowest surrogate, ``uint8 [k, n]`` (what the ``linear_code`` evaluator reads)."""
        theta = jnp.asarray(params["theta"] if isinstance(params, dict) else params)
        candidates, values = theta, self.binarized_values(theta)
        if isinstance(params, dict) and "best" in params:  # the best code of each chain's earlier cycles
            candidates = jnp.concatenate([theta, jnp.asarray(params["best"]["signs"])])
            values = jnp.concatenate([values, jnp.asarray(params["best"]["value"])])
        best = int(jnp.argmin(values))
        return relaxed.generator_from_logits(jax.device_get(candidates[best]))

    def _cycle_position(self, step: jax.Array) -> jax.Array:
        """Steps since the current cycle began (the whole run when ``cycles == 1``)."""
        return jnp.mod(step, self.cycle_steps) if self.cycles > 1 else step

    def _fade(self, step: jax.Array) -> jax.Array:
        t = self._cycle_position(step).astype(jnp.float32)
        fade = jnp.maximum(1.0 - t / (self.anneal_fraction * self.cycle_steps), self.penalty_floor)
        if self.cycles > 1 and self.restart_penalty != 1.0:
            fade = jnp.where(step >= self.cycle_steps, self.restart_penalty * fade, fade)
        return fade

    def _restart(self, state: PyTree, key: jax.Array) -> PyTree:
        """A cycle's first step: keep each chain's best binarized code so far, restart from it perturbed."""
        theta = state["params"]["theta"]
        best = state["params"]["best"]
        here = self.binarized_values(theta)
        better = here < best["value"]
        signs = jnp.where(better[:, None, None], jnp.sign(theta), best["signs"])
        best = {"signs": signs, "value": jnp.where(better, here, best["value"])}
        flips = jax.random.bernoulli(key, self.perturb, theta.shape)
        theta = self.restart_scale * jnp.where(flips, -signs, signs)
        params = {"theta": theta, "best": best}
        return dict(state, params=params, opt_state=self.optimizer().init({"theta": theta}))

    def train_step(self, state: PyTree, x: Any, key: jax.Array, stage: int = 0) -> tuple[PyTree, dict]:
        if self.cycles > 1 and stage % 2 == 1:  # stages: train, (restart, train) x (cycles - 1)
            state = self._restart(state, jax.random.fold_in(key, 1))
        fade = self._fade(state["step"])
        frac = self._cycle_position(state["step"]).astype(jnp.float32) / self.cycle_steps
        trained = {"theta": state["params"]["theta"]}

        def loss_fn(params):
            # Independent chains: a sum of their losses (Adam is elementwise, so each chain moves as if alone).
            values = jax.vmap(lambda t: self._scheduled_value(t, frac))(params["theta"])
            penalty = self.logit_penalty * fade * jnp.mean(jnp.square(params["theta"]), axis=(1, 2))
            return jnp.sum(values + penalty), jnp.min(values)

        (loss, value), grads = jax.value_and_grad(loss_fn, has_aux=True)(trained)
        if self.gradient_noise > 0:
            grads = {
                "theta": grads["theta"]
                + self.gradient_noise * fade * jax.random.normal(key, grads["theta"].shape, grads["theta"].dtype)
            }
        trained, opt_state = self.apply_gradients(self.optimizer(), trained, state["opt_state"], grads)
        params = dict(state["params"], theta=trained["theta"])
        theta = state["params"]["theta"]
        pi = jax.nn.sigmoid(theta)
        return (
            {"params": params, "opt_state": opt_state, "step": state["step"] + 1},
            {
                "loss": loss,
                "surrogate": value,
                "distance_to_binary": jnp.mean(jnp.minimum(pi, 1.0 - pi)),
                "saturated": jnp.mean((jnp.abs(theta) > SATURATION_LOGIT).astype(jnp.float32)),
            },
        )


METHOD = LinearCodeMethod
