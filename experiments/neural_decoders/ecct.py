"""ECCT (Choukroun & Wolf 2022, "Error Correction Code Transformer", NeurIPS) on the learned-decoder benchmark.

``config.method = 'ecct'`` (``neuralcodes_jax/methods/ecct.py``): ``N`` layers of width ``d`` on the code
``code.name`` (a file of ``ecc_codes/``, default BCH_N63_K45), BPSK-AWGN, trained on the all-zero word with Eb/N0
drawn from {2, ..., 7} dB per example, evaluated by ``-ln(BER)`` at 4, 5, 6 dB (paper Table 1).

Where the paper leaves a choice open the config follows the public code (github.com/yoniLc/ECCT, ``Main.py`` /
``Model.py``): 8 heads, feed-forward width 4d, no dropout, Adam with learning rate 1e-4 cosine-annealed to 1e-6,
batches of 128, 1000 epochs x 1000 steps = 1e6 steps (1.28e8 words; the default ``train.steps``), the mask of
``Model.get_mask``, the input ``(|y|, +-1 syndrome)``. The magnitude input is ``|L|`` scaled to ``|y|`` at the
midpoint Eb/N0 (the shared interface passes LLRs; ``methods/ecct.py`` docstring).

Variants (combine with commas; a benchmark code's name picks the code):
  ``small``   N = 2, d = 32 (paper Table 1's smallest ECCT)
  ``n6_d32``, ``n2_d64``, ``n6_d64``, ``n2_d128``, ``n6_d128``: the other published sizes (Table 1; default
              N = 6, d = 32)
  ``budget``  the CPU budget of results/ecct_budget.md: 800 steps (102k words) at learning rate 1e-3 (cosine to
              1e-6), a checkpoint every 100 steps (all kept, for the learning curve), evaluation to 50 block errors
  ``smoke``   a few steps of batch 16, tiny evaluation (tests)

Commands:
  python -m launch.main --config=experiments/neural_decoders/ecct.py:small,budget,BCH_N31_K16 --workdir=DIR
  python -m launch.main --config=experiments/neural_decoders/ecct.py:n6_d128,POLAR_N64_K32 --workdir=DIR  # paper
  benchmarks/ecct_gpu.sh  (the full published schedule on a GPU, every code of Table 1)
Rerunning a command resumes from its checkpoints; ``--config.num_seeds=3`` trains three seeds as one group.
"""

from experiments import common
from experiments.neural_decoders.neural_bp import CODES  # the benchmark's 15 codes, one list

#: Published sizes (N, d) of ECCT (paper Table 1: N in {2, 6}, d in {32, 64, 128}).
SIZES = {
    "small": (2, 32),
    "n6_d32": (6, 32),
    "n2_d64": (2, 64),
    "n6_d64": (6, 64),
    "n2_d128": (2, 128),
    "n6_d128": (6, 128),
}
#: Steps of the CPU budget (``budget``) and the checkpoint spacing of its learning curve.
BUDGET_STEPS = 800
BUDGET_CHECKPOINT_EVERY = 100
#: Learning rate of the budget (cosine-annealed to train.lr_min over its steps): at the published 1e-4, 2000 steps
#: of BCH_N31_K16 learned only the hard decision (-ln(BER) 3.39 at 5 dB, the uncoded value; results/ecct_budget.md).
BUDGET_LR = 1e-3

VARIANTS = ("smoke", "budget") + tuple(SIZES) + CODES


def get_config(arg=None):
    variant = common.parse_variant(arg, VARIANTS)
    sizes = [w for w in SIZES if w in variant]
    codes = [w for w in CODES if w in variant]
    if len(sizes) > 1 or len(codes) > 1:
        raise ValueError(f"config variant may name one size of {list(SIZES)} and one code, got {sorted(variant)}")
    c = common.base_config("ecct")
    if codes:
        c.code.name = codes[0]
    if sizes:
        c.model.num_layers, c.model.d_model = SIZES[sizes[0]]
    c.name = f"ecct_{sizes[0] if sizes else 'n6_d32'}_{c.code.name}"
    c.train.log_every_steps = 1000
    c.train.steps_per_call = 1000
    c.train.checkpoint_every_steps = 10_000
    if "budget" in variant:
        c.train.steps = BUDGET_STEPS
        c.train.lr = BUDGET_LR
        c.train.steps_per_call = BUDGET_CHECKPOINT_EVERY
        c.train.log_every_steps = 50
        c.train.checkpoint_every_steps = BUDGET_CHECKPOINT_EVERY
        c.train.keep_checkpoints = BUDGET_STEPS // BUDGET_CHECKPOINT_EVERY + 1
        c.eval.target_block_errors = 50
        c.eval.max_blocks = 200_000
    if "smoke" in variant:
        c.train.steps = 4
        c.train.batch_size = 16
        c.train.steps_per_call = 2
        c.train.log_every_steps = 2
        c.train.checkpoint_every_steps = 2
        c.train.progress = False
        c.train.tensorboard = False
        c.eval.batch_size = 200
        c.eval.target_block_errors = 5
        c.eval.max_blocks = 400
    return c
