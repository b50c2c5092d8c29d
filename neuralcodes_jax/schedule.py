"""Schedules of the training loop: where a run's steps go (stages, blocks, checkpoints, host calls)."""

from __future__ import annotations

import dataclasses

import numpy as np

from neuralcodes_jax import specs


@dataclasses.dataclass(frozen=True)
class Schedule:
    """Where a run's steps go: stage ends, block ends (validation and checkpoints), host-call length.

    ``blocks`` are the steps at which a block ends (validation), ascending, the last being ``total_steps``; every
    stage end is a block end. ``saves`` are the block ends at which the latest checkpoints are written.
    ``steps_per_epoch`` is set when a stage runs epochs (its blocks are epochs).
    """

    stage_names: tuple[str, ...]
    stage_ends: tuple[int, ...]
    blocks: tuple[int, ...]
    saves: frozenset[int]
    steps_per_call: int
    steps_per_epoch: int | None = None

    @property
    def total_steps(self) -> int:
        return self.stage_ends[-1]

    def stage_at(self, step: int) -> int:
        return next(i for i, end in enumerate(self.stage_ends) if step < end)

    def block_at(self, step: int) -> int:
        """Index of the block that contains ``step``."""
        return next(i for i, end in enumerate(self.blocks) if step < end)

    def chunk(self, step: int) -> int:
        """Steps of the host call starting at ``step`` (never crossing a block end)."""
        return min(self.steps_per_call, self.blocks[self.block_at(step)] - step)


def make_schedule(method, train_cfg: specs.LoopTrain, n_train: int | None, batch_size: int | None) -> Schedule:
    """The schedule of ``method.stages()`` under the loop's typed ``train`` fields (:class:`specs.LoopTrain`; a
    method with a dataset: :class:`specs.DataLoopTrain`).

    An epoch stage (``steps=None``) runs ``train.num_epochs`` epochs of ``n_train // batch_size`` steps, blocks
    being epochs (latest checkpoint every ``train.checkpoint_every_epochs``); a step stage runs its steps in blocks
    of ``train.checkpoint_every_steps``, with a checkpoint at each (0: one block per stage). The last step always
    gets a checkpoint.
    """
    stages = method.stages()
    if not stages:
        raise ValueError(f"method {method.name!r} declares no training stage")
    steps_per_call = int(train_cfg.steps_per_call)
    names, ends, blocks, saves = [], [], [], []
    steps_per_epoch = None
    step = 0
    for stage in stages:
        if stage.steps is None:
            if n_train is None:
                raise ValueError(
                    f"stage {stage.name!r} of method {method.name!r} runs epochs, but the config has no dataset"
                )
            num_epochs = int(train_cfg.num_epochs)
            steps_per_epoch = n_train // batch_size
            if steps_per_epoch < 1:
                raise ValueError(
                    f"train.batch_size ({batch_size}) is larger than the training set ({n_train} examples)"
                )
            every = int(train_cfg.checkpoint_every_epochs)
            blocks += [step + (e + 1) * steps_per_epoch for e in range(num_epochs)]
            saves += [step + (e + 1) * steps_per_epoch for e in range(every - 1, num_epochs, every)]
            step += num_epochs * steps_per_epoch
        else:
            steps = stage.steps
            if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
                raise ValueError(
                    f"stage {stage.name!r} of method {method.name!r} must have >= 1 steps, got "
                    f"{steps!r} (check the config's step counts)"
                )
            every = int(train_cfg.checkpoint_every_steps)
            marks = [step + b for b in range(every, int(steps), every)] if every else []
            blocks += marks + [step + int(steps)]
            saves += marks
            step += int(steps)
        names.append(stage.name)
        ends.append(step)
    return Schedule(
        tuple(names),
        tuple(ends),
        tuple(sorted(set(blocks))),
        frozenset(saves) | {step},
        steps_per_call,
        steps_per_epoch,
    )


# ----------------------------------------------------------------------------------------------------------------
# Jitted pieces.


def stage_start(sched: Schedule, stage: int) -> int:
    return 0 if stage == 0 else sched.stage_ends[stage - 1]
