"""Neural BP on the learned-decoder benchmark (``methods/neural_bp.py``; Nachmani et al. 2018, IEEE JSTSP).

The paper's setting (Sec. V, as we read it; we found no public code of the paper): T = 5 flooding iterations
(10 hidden layers), weights per edge and iteration, the multi-loss, RMSprop with learning rate 1e-3, batches of 120
all-zero words at Eb/N0 1..6 dB. The number of training steps is not stated; ``budget`` sets the one used for
``results/neural_decoders.md`` (measured per step on this CPU, see there).

Commands:
  python -m launch.main --config=experiments/neural_decoders/neural_bp.py:BCH_N63_K45 --workdir=workdirs/nbp/BCH_N63_K45
  python -m launch.main --config=experiments/neural_decoders/neural_bp.py:POLAR_N64_K32,budget --workdir=DIR
  python -m launch.main --config=experiments/neural_decoders/neural_bp.py --config.code.name=bch:31,16 --workdir=DIR

Variants: one code of :data:`CODES` (default ``BCH_N63_K45``; a file of ``ecc_codes/``), ``normalized_min_sum`` or
``offset_min_sum`` (the neural min-sum decoders, Sec. III), ``tied`` (weights shared across iterations), ``budget``
(the step budget of the results table) and ``smoke`` (a few steps on ``bch:15,7`` unless a code is named).
"""

from experiments import common

#: The 15 codes of the benchmark (Choukroun and Wolf 2022, Table 1), the files of ``ecc_codes/``.
CODES = (
    "BCH_N31_K16",
    "BCH_N63_K36",
    "BCH_N63_K45",
    "BCH_N63_K51",
    "CCSDS_N128_K64",
    "LDPC_N121_K60",
    "LDPC_N121_K70",
    "LDPC_N121_K80",
    "LDPC_N49_K24",
    "MACKAY_N96_K48",
    "POLAR_N128_K64",
    "POLAR_N128_K86",
    "POLAR_N128_K96",
    "POLAR_N64_K32",
    "POLAR_N64_K48",
)
ALGORITHMS = ("normalized_min_sum", "offset_min_sum")

#: Training steps of the ``budget`` variant (batch 120): the high-degree polar matrices cost 5-20x more per step.
BUDGET_STEPS = {"POLAR_N128": 300, "POLAR_N64": 800}
DEFAULT_BUDGET_STEPS = 2000

VARIANTS = CODES + ALGORITHMS + ("tied", "budget", "smoke")


def budget_steps(code: str) -> int:
    return next((s for prefix, s in BUDGET_STEPS.items() if code.startswith(prefix)), DEFAULT_BUDGET_STEPS)


def get_config(arg=None):
    variant = common.parse_variant(arg, VARIANTS)
    codes = [w for w in CODES if w in variant]
    algorithms = [w for w in ALGORITHMS if w in variant]
    if len(codes) > 1 or len(algorithms) > 1:
        raise ValueError(
            f"config variant must name at most one code of {list(CODES)} and one of "
            f"{list(ALGORITHMS)}, got {sorted(variant)}"
        )
    c = common.base_config("neural_bp")
    code = codes[0] if codes else "BCH_N63_K45"
    c.code.name = code
    c.name = f"neural_bp_{code}"
    c.train.steps_per_call = 100
    c.train.log_every_steps = 100
    c.train.checkpoint_every_steps = 500
    c.train.tensorboard = False
    if algorithms:
        c.model.algorithm = algorithms[0]
        c.name += f"_{algorithms[0]}"
    if "tied" in variant:
        c.model.tied = True
        c.name += "_tied"
    if "budget" in variant:
        c.train.steps = budget_steps(code)
    if "smoke" in variant:
        if not codes:
            c.code.name = "bch:15,7"
        c.train.steps = 4
        c.train.batch_size = 8
        c.train.steps_per_call = 2
        c.train.log_every_steps = 2
        c.train.checkpoint_every_steps = 2
        c.train.progress = False
        c.eval.batch_size = 100
        c.eval.target_block_errors = 2
        c.eval.max_blocks = 100
        c.name = f"neural_bp_smoke_{c.code.name}"
    return c
