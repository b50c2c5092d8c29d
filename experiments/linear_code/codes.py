"""Learned linear codes at the optimum: a relaxed systematic generator trained on a surrogate of its weight spectrum.

Method: ``neuralcodes_jax/methods/linear_code.py`` (``config.method = 'linear_code'``); exact report:
``evaluators/linear_code.py``. One row of ``results/learned_codes_optimal.md`` per variant: the code's length and
dimension and the reference whose minimum distance is the target. ``launch.main`` trains ``num_seeds`` seeds as one
vmapped, checkpointed group in ``WORKDIR/seed<s>`` and writes the summary over seeds into ``WORKDIR``.

Commands:
  python -m launch.main --config=experiments/linear_code/codes.py:hamming_15_11 --workdir=workdirs/lc/hamming_15_11
  python -m launch.main --config=experiments/linear_code/codes.py:golay_23_12,softmin --workdir=workdirs/lc/g23s
  python -m launch.sweep --config=experiments/linear_code/codes.py --workdir=workdirs/lc_sweep   # every row

Variants: one row of :data:`ROWS` (default ``hamming_15_11``), optionally one surrogate of
``codes.relaxed.SURROGATES`` (default ``union``), any of the schedules of :data:`SCHEDULES` (issue 24) and
``smoke`` (few steps and seeds). The schedules:

* ``anneal``: softmin temperature geometric from 2 to 0.1 over the run (``surrogate.tau_schedule``);
* ``switch``: union for the first half of the run, then the named surrogate (softmin unless named);
* ``chains4``: 4 fresh chains of a quarter of the steps each (``train.restarts``; chains x steps unchanged);
* ``cycles4``: 4 perturb-and-reoptimise cycles of a quarter of the steps (``train.cycles``);
* ``nopenalty``: no logit penalty in the cycles after the first (``train.restart_penalty = 0``): each later cycle
  is plain descent from the perturbed best code (with ``cycles4``);
* ``floor``: the logit penalty never fades below 0.1 of its start (``train.penalty_floor``, against saturation);
* ``polish``: the evaluator's single- and double-flip descent after training (``eval.polish = 2``), reported as
  its own row beside the gradient-trained code.

  python -m launch.main --config=experiments/linear_code/codes.py:golay_23_12,softmin,anneal,polish --workdir=DIR
"""

import ml_collections

from experiments import common
from neuralcodes_jax.codes import relaxed

#: Row name -> (n, k, reference name, reference minimum distance).
ROWS = {
    "hamming_15_11": (15, 11, "Hamming(15,11)", 3),
    "ext_hamming_16_11": (16, 11, "extended Hamming(16,11)", 4),
    "golay_23_12": (23, 12, "Golay(23,12)", 7),
    "ext_golay_24_12": (24, 12, "extended Golay(24,12)", 8),
    "bch_15_7": (15, 7, "BCH(15,7)", 5),
    "bch_15_5": (15, 5, "BCH(15,5)", 7),
    "rm_16_5": (16, 5, "Reed-Muller(1,4)", 8),
    "hamming_31_26": (31, 26, "Hamming(31,26)", 3),
    "bch_31_21": (31, 21, "BCH(31,21)", 5),
    "bch_31_16": (31, 16, "BCH(31,16)", 7),
}


def base_config() -> ml_collections.ConfigDict:
    """Every field the method, the loop and the report read, with their defaults (``methods/linear_code.py``,
    ``specs.LoopTrain``, ``evaluators/linear_code.py``); :func:`set_row` sets the code and its reference."""
    c = common.base_config("linear_code")
    c.num_seeds = 20
    c.eval.evaluator = "linear_code"
    c.train.steps_per_call = 500
    c.train.checkpoint_every_steps = 2000
    c.train.log_every_steps = 500
    c.train.tensorboard = False
    return c


def set_row(c: ml_collections.ConfigDict, row: str) -> None:
    if row not in ROWS:
        raise ValueError(f"config row must be one of {sorted(ROWS)}, got {row!r}")
    n, k, ref, d = ROWS[row]
    c.name = f"linear_{row}"
    c.code.n, c.code.k = n, k
    c.eval.reference = ref
    c.surrogate.distance = d
    # Beyond 2^16 messages the surrogates use the messages of weight < d (every codeword lighter than d).
    if relaxed.message_count(k, k) > relaxed.MAX_MESSAGES:
        c.surrogate.max_message_weight = d - 1


#: Schedule words (module docstring); each may be combined with a row, a surrogate and the others.
SCHEDULES = ("anneal", "switch", "chains4", "cycles4", "nopenalty", "floor", "polish")
#: The words a variant (``--config=file.py:word,word``) may combine.
VARIANTS = tuple(ROWS) + relaxed.SURROGATES + SCHEDULES + ("smoke",)


def set_schedules(c: ml_collections.ConfigDict, words) -> None:
    """Apply the schedule words (:data:`SCHEDULES`) to a config whose row and surrogate are set."""
    if "anneal" in words:
        c.surrogate.tau_schedule = "geometric"
        c.surrogate.tau, c.surrogate.tau_final = 2.0, 0.1
    if "switch" in words:
        if c.surrogate.name == "union":
            c.surrogate.name = "softmin"
        c.surrogate.start, c.surrogate.switch_fraction = "union", 0.5
    if "chains4" in words:
        c.train.restarts = 4
        c.train.steps //= 4
    if "cycles4" in words:
        c.train.cycles = 4
    if "nopenalty" in words:
        c.train.restart_penalty = 0.0
    if "floor" in words:
        c.train.penalty_floor = 0.1
    if "polish" in words:
        c.eval.polish = 2
    for w in SCHEDULES:
        if w in words:
            c.name += f"_{w}"


def get_config(arg=None):
    variant = common.parse_variant(arg, VARIANTS)
    rows = [v for v in ROWS if v in variant]
    surrogates = [v for v in relaxed.SURROGATES if v in variant]
    if len(rows) > 1 or len(surrogates) > 1:
        raise ValueError(
            f"config variant must name at most one row of {list(ROWS)} and one surrogate of "
            f"{list(relaxed.SURROGATES)}, got {sorted(variant)}"
        )
    c = base_config()
    set_row(c, rows[0] if rows else "hamming_15_11")
    if surrogates:
        c.surrogate.name = surrogates[0]
        c.name += f"_{surrogates[0]}"
    set_schedules(c, variant)
    if "smoke" in variant:
        c.num_seeds = 2
        c.train.steps = 48
        c.train.steps_per_call = 25
        c.train.checkpoint_every_steps = 25
        c.train.progress = False
    return c


def get_sweep():
    """Every row with every surrogate (``launch.sweep``)."""
    out = []
    for r in ROWS:
        c = base_config()
        set_row(c, r)
        out += [
            {
                "name": f"{c.name}_{s}",
                "code.n": c.code.n,
                "code.k": c.code.k,
                "eval.reference": c.eval.reference,
                "surrogate.distance": c.surrogate.distance,
                "surrogate.max_message_weight": c.surrogate.max_message_weight,
                "surrogate.name": s,
            }
            for s in relaxed.SURROGATES
        ]
    return out
