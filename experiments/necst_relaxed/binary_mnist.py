"""NECST trained with relaxed bits (Gumbel-softmax / straight-through) on Binary MNIST, 100 bits, BSC.

A baseline of the learned-coding literature beside NECST's VIMCO (``neuralcodes_jax/methods/necst_relaxed.py``):
the same networks, channel, data, budget and evaluation as ``experiments/necst/binary_mnist.py``; only the gradient
estimator differs. Results: ``results/necst_relaxed_binary_mnist.md``.

Commands:
  python -m launch.main --config=experiments/necst_relaxed/binary_mnist.py --workdir=workdirs/relaxed_bmnist \
      --config.data.source=local --config.data.data_dir=../shared/data/binarized_mnist
  python -m launch.sweep --config=experiments/necst_relaxed/binary_mnist.py --workdir=workdirs/relaxed_sweep \
      --vmap --set=data.source=local --set=data.data_dir=../shared/data/binarized_mnist   # get_sweep(): 2 x 2
  python -m launch.main --config=experiments/necst_relaxed/binary_mnist.py:smoke --workdir=workdirs/smoke
Variants: ``gumbel`` (default), ``straight_through_gumbel``, ``straight_through`` (the estimator); ``smoke``.
"""

from experiments import common
from experiments.necst import binary_mnist

ESTIMATORS = ("gumbel", "straight_through_gumbel", "straight_through")


#: The words a variant (``--config=file.py:word,word``) may combine.
VARIANTS = ("smoke",) + ESTIMATORS


def get_config(arg=None):
    variant = common.parse_variant(arg, VARIANTS)
    c = binary_mnist.get_config("smoke" if "smoke" in variant else None)
    c.name = "necst_relaxed_binary_mnist"
    c.method = "necst_relaxed"
    c.relaxed = common.base_config("necst_relaxed").relaxed
    chosen = [e for e in ESTIMATORS if e in variant]
    if len(chosen) > 1:
        raise ValueError(f"config variant must name at most one estimator of {list(ESTIMATORS)}, got {chosen}")
    c.relaxed.estimator = chosen[0] if chosen else "gumbel"
    c.relaxed.anneal_steps = 5000
    return c


def get_sweep():
    """Training noise 0.1 and 0.3 (one vmapped group per estimator)."""
    return [
        {"relaxed.estimator": e, "channel.eps": eps, "eval.noise_levels": (eps,)}
        for e in ("gumbel", "straight_through")
        for eps in (0.1, 0.3)
    ]
