"""The one module that talks to Orbax.

A run's workdir holds two checkpoint series:

* ``WORKDIR/checkpoints/latest/<step>/``: the most recent states (``keep`` of them), written at the end of every
  epoch and on request; a restarted run resumes from the newest one.
* ``WORKDIR/checkpoints/best/<step>/``: the single state with the best validation score so far.

Each checkpoint has two items: ``state`` (the pure array pytree of the method: params, optimizer state, step) and
``meta`` (a small JSON dict: epoch, validation score, best score, ...). No RNG key is ever saved: every key in a run
is ``fold_in(stream, step)`` of a stream derived from ``config.seed``, so a resumed run draws the same randomness.

Restoration goes onto an *abstract* state (``jax.ShapeDtypeStruct`` leaves with shardings), so arrays come back
with the shardings of the running program (replicated on the data-parallel mesh).
"""

from __future__ import annotations

import os
from typing import Any

import orbax.checkpoint as ocp

PyTree = Any


class _Series:
    """One ``CheckpointManager`` over ``state`` + ``meta`` items."""

    def __init__(self, directory: str, keep: int, name: str):
        # In a multi-process run Orbax synchronises the processes with barriers named after the step; two series
        # saving the same step (latest and best at an epoch end) need their own prefix, or the barriers collide.
        options = ocp.CheckpointManagerOptions(
            max_to_keep=keep, create=True,
            multiprocessing_options=ocp.options.MultiprocessingOptions(barrier_sync_key_prefix=f"nc_{name}"))
        self._manager = ocp.CheckpointManager(
            os.path.abspath(directory), options=options, item_names=("state", "meta"))

    def latest_step(self) -> int | None:
        return self._manager.latest_step()

    def all_steps(self) -> list[int]:
        return sorted(int(s) for s in self._manager.all_steps())

    def save(self, step: int, state: PyTree, meta: dict) -> None:
        self._manager.save(
            int(step),
            args=ocp.args.Composite(state=ocp.args.StandardSave(state), meta=ocp.args.JsonSave(meta)),
            force=True)

    def restore(self, abstract_state: PyTree, step: int | None = None) -> tuple[PyTree, dict] | None:
        step = self._manager.latest_step() if step is None else step
        if step is None:
            return None
        restored = self._manager.restore(
            step,
            args=ocp.args.Composite(
                state=ocp.args.StandardRestore(abstract_state), meta=ocp.args.JsonRestore()))
        return restored["state"], dict(restored["meta"])

    def wait(self) -> None:
        self._manager.wait_until_finished()

    def close(self) -> None:
        self._manager.wait_until_finished()
        self._manager.close()


class Checkpointer:
    """Latest + best-by-validation checkpoints of one run.

    All processes of a multi-host run must call every method, in the same order, with the same steps (Orbax
    coordinates the writes: every process writes the shards it owns, process 0 the metadata; the workdir must be
    on a filesystem all processes see).
    """

    def __init__(self, workdir: str, keep: int = 2):
        if keep < 1:
            raise ValueError(f"checkpoint keep must be >= 1, got {keep}")
        self.workdir = workdir
        root = os.path.join(workdir, "checkpoints")
        self.latest = _Series(os.path.join(root, "latest"), keep, "latest")
        self.best = _Series(os.path.join(root, "best"), 1, "best")

    def latest_step(self) -> int | None:
        return self.latest.latest_step()

    def save_latest(self, step: int, state: PyTree, meta: dict) -> None:
        self.latest.save(step, state, meta)

    def save_best(self, step: int, state: PyTree, meta: dict) -> None:
        self.best.save(step, state, meta)

    def restore_latest(self, abstract_state: PyTree, step: int | None = None) -> tuple[PyTree, dict] | None:
        """The newest saved state (or the one at ``step``) and its meta, or None when the workdir has none."""
        return self.latest.restore(abstract_state, step)

    def latest_steps(self) -> list[int]:
        """Steps of the kept latest checkpoints, ascending."""
        return self.latest.all_steps()

    def restore_best(self, abstract_state: PyTree) -> tuple[PyTree, dict] | None:
        return self.best.restore(abstract_state)

    def wait(self) -> None:
        """Block until asynchronous saves are on disk."""
        self.latest.wait()
        self.best.wait()

    def close(self) -> None:
        self.latest.close()
        self.best.close()
