"""Shared config of the learned-binary-code experiments (``config.method = 'progressive'``, ``python -m launch.main``).

Paper: Ninkovic & Vukobratovic, "Learning Binary Autoencoder-Based Codes with Progressive Training",
arXiv 2511.09221 (TELFOR 2025). The paper gives neither layer sizes, optimizer settings nor the training
crossover probability; the defaults below are this project's choices (see ``neuralcodes_jax.methods.progressive``
and ``results/progressive_7_4.md`` for how they were picked).

Every field of :class:`neuralcodes_jax.methods.progressive.ProgressiveSpec` has a config path
(``progressive.CONFIG_PATHS``). ``training`` picks the training method; ``launch.main`` trains ``num_seeds`` seeds
(``seed``, ``seed + 1``, ...) as one vmapped group, each in ``WORKDIR/seed<s>``, and writes the summary over
seeds into ``WORKDIR``. Variants ``straight_through`` / ``gumbel`` (:func:`apply_variant`) pick the baselines,
and each config's ``get_sweep()`` lists the three trainings for ``launch.sweep``.
"""

from __future__ import annotations

import ml_collections
from ml_collections.config_dict import placeholder

#: The fixed grid of BSC crossover probabilities of every report (exact values, no Monte Carlo).
P_GRID = (0.001, 0.002, 0.005, 0.01, 0.02, 0.03, 0.05, 0.07, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5)


def base_config() -> ml_collections.ConfigDict:
    c = ml_collections.ConfigDict()
    c.name = "progressive"
    c.method = "progressive"
    c.seed = 0
    c.num_seeds = 20
    c.training = "progressive"        # 'progressive' | 'straight_through' | 'gumbel'

    c.code = ml_collections.ConfigDict()
    c.code.n = 7
    c.code.k = 4

    c.channel = ml_collections.ConfigDict()
    c.channel.name = "bsc"            # 'bsc' | 'awgn'
    c.channel.train_p = 0.02          # BSC crossover of training (stage 1 and stage 2)
    c.channel.train_ebn0_db = 4.0     # AWGN only
    c.channel.relaxation = "flip_gauss"   # stage-1 BSC surrogate: 'flip_gauss' | 'awgn' | 'exact'
    c.channel.relax_sigma = 0.4       # Gaussian term of 'flip_gauss'
    c.channel.train_p_start = 0.0     # > 0: stage-1 crossover annealed from this value to train_p

    c.model = ml_collections.ConfigDict()
    c.model.message_input = "one_hot"     # 'one_hot' | 'bits'
    c.model.encoder = "mlp"               # 'mlp' (the paper) | 'linear' (relaxed systematic generator [I | P])
    c.model.decoder_output = "softmax"    # 'softmax' | 'bitwise'
    c.model.encoder_hidden = (128,)
    c.model.decoder_hidden = (128,)
    c.model.activation = "relu"
    c.model.init_scale = 1.0
    # '' or a code (a reference name or a JSON file of generators): the MLP encoder starts fitted to it.
    c.model.warm_start = ""
    c.model.warm_start_scale = 4.0
    c.model.warm_start_steps = 1000

    c.train = ml_collections.ConfigDict()
    c.train.stage1_steps = 16000
    c.train.stage2_steps = 1000
    c.train.batch_size = 256
    c.train.full_batch = False
    c.train.lr = 3e-3
    c.train.stage2_lr = 1e-3
    c.train.lr_schedule = "constant"
    c.train.encoder_lr_scale = 1.0
    c.train.logit_penalty = 3.0     # progressive binarization: lambda of lambda (1 - t/T) mean(a^2)
    c.train.logit_noise = 0.0
    # The loop (train.py): host calls of steps_per_call steps; checkpoints every checkpoint_every_steps steps.
    c.train.steps_per_call = 1000
    c.train.checkpoint_every_steps = 8000
    c.train.keep_checkpoints = 2
    c.train.num_devices = 0
    c.train.log_every_steps = 500
    c.train.progress = True
    c.train.tensorboard = False

    # The baselines' own sections may override train.logit_penalty / train.lr / train.stage1_steps
    # (None = the shared value; progressive.PER_TRAINING_FIELDS).
    c.straight_through = ml_collections.ConfigDict()
    # 'sigmoid' | 'identity' (identity: 1/20 vs 0/20 Hamming-equivalent seeds at (7,4), tuned at commit 65b49d4)
    c.straight_through.gradient = "identity"
    c.straight_through.logit_penalty = placeholder(float)
    c.straight_through.lr = placeholder(float)
    c.straight_through.stage1_steps = placeholder(int)

    c.gumbel = ml_collections.ConfigDict()
    c.gumbel.tau_start = 1.0
    c.gumbel.tau_end = 0.1
    c.gumbel.hard = False
    c.gumbel.logit_penalty = 0.3      # best of {0, 0.1, 0.3, 1, 3} for (7,4); the shared 3.0 collapses codewords
    c.gumbel.lr = placeholder(float)
    c.gumbel.stage1_steps = placeholder(int)

    c.eval = ml_collections.ConfigDict()
    c.eval.p_grid = P_GRID
    c.eval.p_ratio = 0.05                 # p of the single "ratio to the converse" number
    c.eval.reference = "Hamming(7,4)"     # a name of codes.analysis.reference_codes()
    c.eval.neural_table = True            # exact BLER/BER of the neural decoder (table over all 2^n words)
    c.eval.stage2_check = True            # also tabulate the stage-1 decoder (did stage 2 improve the decoder?)
    c.eval.max_equivalence_nodes = 100_000
    c.eval.ebn0_db = (0.0, 2.0, 4.0, 6.0)  # AWGN Monte Carlo grid (AWGN configs only)
    c.eval.mc_target_errors = 200
    c.eval.mc_max_blocks = 400_000
    c.eval.mc_batch = 20_000
    c.eval.mc_seeds = 0                   # AWGN: Monte Carlo for the first mc_seeds seeds (0 = all)
    c.eval.use_best = False               # no validation: the final state is evaluated
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
