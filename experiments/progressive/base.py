"""Shared config of the learned-binary-code experiments (``config.method = 'progressive'``, ``python -m launch.main``).

Paper: Ninkovic & Vukobratovic, "Learning Binary Autoencoder-Based Codes with Progressive Training",
arXiv 2511.09221 (TELFOR 2025). The paper gives neither layer sizes, optimizer settings nor the training
crossover probability; the defaults below are this project's choices (see ``neuralcodes_jax.methods.progressive``
and ``results/progressive_7_4.md`` for how they were picked).

The method's typed config is :class:`neuralcodes_jax.methods.progressive.ProgressiveConfig` (every field of
its flat ``ProgressiveSpec`` has a config path, ``progressive.CONFIG_PATHS``). ``training`` picks the training
method; ``launch.main`` trains ``num_seeds`` seeds (``seed``, ``seed + 1``, ...) as one vmapped group, each in
``WORKDIR/seed<s>``, and writes the summary over seeds into ``WORKDIR``. Variants ``straight_through`` /
``gumbel`` (:func:`apply_variant`) pick the baselines, and each config's ``get_sweep()`` lists the three trainings
for ``launch.sweep``.
"""

from __future__ import annotations

import ml_collections

from experiments import common
from neuralcodes_jax.evaluators.codebook import P_GRID  # noqa: F401  (the reports' grid, used by the configs)


def base_config() -> ml_collections.ConfigDict:
    """Every field the method, the loop and the codebook report read, with their defaults (the typed specs of
    ``methods/progressive/``, ``specs.LoopTrain`` and ``evaluators/codebook.py``), for a (7,4) code, 20 seeds."""
    c = common.base_config("progressive")
    c.num_seeds = 20
    c.code.n = 7
    c.code.k = 4
    # The loop (train.py): host calls of steps_per_call steps; checkpoints every checkpoint_every_steps steps.
    c.train.steps_per_call = 1000
    c.train.checkpoint_every_steps = 8000
    c.train.log_every_steps = 500
    c.train.tensorboard = False
    return c


TRAININGS = ("progressive", "straight_through", "gumbel")


def apply_variant(c: ml_collections.ConfigDict, variant: set[str]) -> None:
    """The training named in the variant (``straight_through`` or ``gumbel``; default progressive) and
    ``smoke``."""
    chosen = [t for t in TRAININGS if t in variant]
    if len(chosen) > 1:
        raise ValueError(f"config variant must name at most one training of {list(TRAININGS)}, got {chosen}")
    if chosen:
        c.training = chosen[0]
    if "smoke" in variant:
        apply_smoke(c)


def trainings_sweep() -> list[dict]:
    """``get_sweep()`` of the learned-code configs: the three trainings, each a point named after it."""
    return [{"training": t, "name": t} for t in TRAININGS]


def apply_smoke(c: ml_collections.ConfigDict) -> None:
    """Seconds on a CPU: 2 seeds, a few steps, a short grid."""
    c.num_seeds = 2
    c.train.stage1_steps = 60
    c.train.stage2_steps = 20
    c.train.batch_size = 64
    c.train.steps_per_call = 20
    c.train.checkpoint_every_steps = 40
    c.train.progress = False
    c.eval.p_grid = (0.01, 0.05, 0.1)
    c.eval.ebn0_db = (2.0,)
    c.eval.mc_target_errors = 20
    c.eval.mc_max_blocks = 4000
    c.eval.mc_batch = 2000
