"""Shared config pieces: ``base_config(method)`` holds every field a run of the method reads, with the defaults of
the typed specs that read them (each default is stated once, in its spec).

Config files call ``base_config()`` and override what differs; ``parse_variant(arg)`` splits the part after the
colon in ``--config=file.py:variant`` (e.g. ``smoke``, ``embedded``, ``smoke,bec``) into a set of words.
"""

from __future__ import annotations

import ml_collections

from neuralcodes_jax import run_config


def parse_variant(arg: str | None, allowed: tuple[str, ...]) -> set[str]:
    words = {w.strip() for w in (arg or "").split(",") if w.strip()}
    unknown = words - set(allowed)
    if unknown:
        raise ValueError(
            f"config variant must be a comma-separated subset of {sorted(allowed)}, got unknown {sorted(unknown)}"
        )
    return words


def base_config(method: str = "necst") -> ml_collections.ConfigDict:
    """Every field a run of ``method`` reads, with its one default (``neuralcodes_jax.run_config.default_config``:
    the run's, the training loop's, the data layer's, the method's and its evaluator's typed specs)."""
    c = run_config.default_config(method)
    c.name = method
    return c


def apply_smoke(c: ml_collections.ConfigDict) -> None:
    """Seconds on a CPU: few examples, two short epochs, small eval."""
    c.data.limit.train = 400
    c.data.limit.valid = 100
    c.data.limit.test = 200
    c.train.batch_size = 40
    c.train.num_epochs = 2
    c.train.steps_per_call = 5
    c.train.progress = False
    c.eval.batch_size = 200
    c.eval.noise_levels = (0.0, 0.1, 0.2)


def necst_tfds_conv_config(
    variant: set[str], *, run: str, dataset: str, bits: int, net: str, eps: float, image_shape: tuple[int, int, int]
) -> ml_collections.ConfigDict:
    """NECST on an RGB TFDS dataset with one of the reference conv nets (svhn, cifar10, celeba configs).

    The ``smoke`` variant swaps in smooth synthetic images of the same shape (no TFDS data needed).
    """
    c = base_config()
    c.name = f"necst_{run}"
    c.data.name = dataset
    c.data.source = "tfds"
    c.model.bits = bits
    c.channel.eps = eps
    c.model.encoder = net
    c.model.decoder = net
    if "bec" in variant:
        c.channel.name = "bec"
    if "smoke" in variant:
        c.data.name = "synthetic_images"
        c.data.source = "synthetic"
        c.data.shape = image_shape
        c.model.bits = 32
        apply_smoke(c)
        c.data.limit.train = 80
        c.data.limit.valid = 16
        c.data.limit.test = 16
        c.train.batch_size = 16
        c.eval.batch_size = 16
    return c
