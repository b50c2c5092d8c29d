"""The method contract: everything the trainer, the evaluators, the model loader and the sweeps read from a method.

A method (NECST, IABF, a discrete VAE, learned binary codes, ...) is a frozen dataclass built from a config by the
``build(config, data)`` function of its module ``neuralcodes_jax/methods/<config.method>.py`` (found by module
name, so adding a method touches no shared file). ``data`` is the :class:`DataSpec` of the config's dataset, or
``None`` for methods that draw their own inputs (``uses_data = False``). Methods hold no arrays, only static
configuration, so jitted functions close over them.

What the trainer reads (``train.train_group``; a single run is a group of one):

* ``init(key, example_x) -> state``: a pure array pytree with an int32 scalar ``state['step']`` and
  ``state['params']``; anything else (optimizer states, a discriminator) is the method's business.
* ``stages() -> (Stage, ...)``: the schedule. A stage with ``steps=None`` runs ``train.num_epochs`` epochs over
  the training set; a stage with a number of steps runs that many (a method with no dataset has only these).
  Host calls never cross a stage boundary, so a stage can change the step function (and its optimizer).
* ``train_step(state, x, key, stage) -> (state, metrics)``: one optimisation step of stage ``stage`` (a Python
  int) on the batch ``x`` ``[B, ...]`` (``None`` when ``uses_data`` is False) with the step key
  ``fold_in(train_stream, step)``; metrics are scalar arrays and must include ``loss``. Pure: the trainer runs it
  under ``lax.scan`` and ``jax.vmap`` over the runs of a group.
* ``has_validation`` and ``valid_loss(params, x, key) -> [B]``: the per-example validation score (lower is
  better) that picks the best checkpoint; methods without it are evaluated at their final state.
* ``group_fields``: the config fields, besides ``seed`` and the test grid (:data:`ALWAYS_GROUPABLE`), whose values
  may differ between the runs of one group; ``bind(values)`` returns the method with each of them set to a traced
  scalar (the trainer calls it inside the vmapped step with ``{field: value of this run}``).

What the evaluators read: ``evaluator`` (the default evaluator's name, ``config.eval.evaluator`` may pick
another; ``neuralcodes_jax/evaluators/``), ``channel`` (the training channel object, whose ``eps`` is the
training noise and whose class gives the allowed test-noise range), ``test_eps(eps)`` (the test-noise rule: the
noise the test channel applies when ``eps`` is asked for), ``eval_batch(params, x, key, eps)`` (per-example
metrics, for the distortion evaluator) and ``eval_settings()`` (what the report header says about evaluation).

What the model loader reads: ``init`` (the abstract state) and ``uses_data`` (whether to reload the data).
"""

from __future__ import annotations

import abc
import dataclasses
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import jax
import optax

from neuralcodes_jax import specs

PyTree = Any
Metrics = dict[str, jax.Array]

#: Config fields every group may vary: the seed (the trainer derives the run's keys from it) and the test grid
#: (the evaluators read it per run).
ALWAYS_GROUPABLE = ("seed", "eval.noise_levels", "name")


@dataclasses.dataclass(frozen=True)
class Stage:
    """A stage of training: ``steps`` steps, or ``train.num_epochs`` epochs of the training set when ``None``."""

    name: str
    steps: int | None = None


@dataclasses.dataclass(frozen=True)
class DataSpec:
    """What a method learns about the dataset: the per-example shape, whether it is binary, and its name (which
    picks the paper's networks for it)."""

    shape: tuple[int, ...]
    is_binary: bool
    name: str = ""


class Method(abc.ABC):
    """Base class of every method (see the module docstring for the contract)."""

    name: ClassVar[str] = ""
    group_fields: ClassVar[tuple[str, ...]] = ()
    uses_data: ClassVar[bool] = True
    has_validation: ClassVar[bool] = True
    evaluator: ClassVar[str] = "distortion"
    #: The training channel (a ``channels`` object); every method has one (a dataclass field or a property).
    channel: Any
    #: The method's typed spec: a frozen dataclass whose fields are the config sections the method reads
    #: (``specs``); :meth:`from_config` parses it and :meth:`from_spec` builds the method from it.
    CONFIG: ClassVar[type]

    # -- building --------------------------------------------------------------------------------------------
    @classmethod
    def from_config(cls, config: Any, data: DataSpec | None) -> Method:
        """The method built from a config: its typed spec (:attr:`CONFIG`) parsed, then :meth:`from_spec`."""
        if data is not None and not data.name and config.get("data") is not None:
            data = dataclasses.replace(data, name=config.data.name)  # the dataset's name picks its networks
        return cls.from_spec(specs.parse(cls.CONFIG, config), data)

    @classmethod
    @abc.abstractmethod
    def from_spec(cls, spec: Any, data: DataSpec | None) -> Method: ...

    # -- training ------------------------------------------------------------------------------------------
    @abc.abstractmethod
    def init(self, key: jax.Array, example_x: jax.Array | None) -> PyTree: ...

    def stages(self) -> tuple[Stage, ...]:
        return (Stage("train"),)

    @abc.abstractmethod
    def train_step(
        self, state: PyTree, x: jax.Array | None, key: jax.Array, stage: int = 0
    ) -> tuple[PyTree, Metrics]: ...

    def valid_loss(self, params: PyTree, x: jax.Array, key: jax.Array) -> jax.Array:
        raise NotImplementedError(f"method {self.name!r} has no validation score (has_validation is False)")

    def bind(self, values: Mapping[str, Any]) -> Method:
        """This method with the group fields in ``values`` set to (traced) scalars; ``{}`` gives ``self``."""
        unknown = sorted(set(values) - set(self.group_fields))
        if unknown:
            raise ValueError(
                f"method {self.name!r} cannot vary {unknown} inside a group; a group may vary "
                f"{list(ALWAYS_GROUPABLE + self.group_fields)}"
            )
        return self._bind(dict(values)) if values else self

    def _bind(self, values: dict[str, Any]) -> Method:
        raise NotImplementedError(
            f"method {self.name!r} declares group fields {self.group_fields} but does not bind them"
        )

    @staticmethod
    def apply_gradients(
        optimizer: optax.GradientTransformation,
        params: PyTree,
        opt_state: PyTree,
        grads: PyTree,
        scale: Callable[[PyTree], PyTree] | None = None,
    ) -> tuple[PyTree, PyTree]:
        """One optimizer update: ``(new params, new optimizer state)``; ``scale`` may rescale the updates first."""
        updates, opt_state = optimizer.update(grads, opt_state, params)
        if scale is not None:
            updates = scale(updates)
        return optax.apply_updates(params, updates), opt_state

    # -- evaluation ----------------------------------------------------------------------------------------
    def test_eps(self, eps: float) -> float:
        """The noise the test channel applies when the evaluation asks for ``eps`` (default: ``eps`` itself)."""
        return eps

    def eval_batch(self, params: PyTree, x: jax.Array, key: jax.Array, eps: float) -> Metrics:
        raise NotImplementedError(
            f"method {self.name!r} has no per-example evaluation; its evaluator is {self.evaluator!r}"
        )

    def eval_settings(self) -> dict[str, Any]:
        """Evaluation settings the reports name (channel draws per example, encoder mode, ...)."""
        return {}
