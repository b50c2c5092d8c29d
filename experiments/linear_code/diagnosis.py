"""Why the unstructured method stalls: its training objective at the optimal code against the learned codes.

For each finished group of ``progressive`` runs (``launch.main`` WORKDIRs of ``experiments/progressive``; any
training: progressive, straight-through, Gumbel-softmax), three numbers per seed, all in nats per message:

* ``ideal(reference)``: the stage-1 objective at the reference code (Hamming, Golay) with the ideal decoder, i.e.
  the conditional entropy ``H(M | Z)`` of the training channel (``progressive.ideal_decoder_loss``); no decoder
  does better on that code;
* ``ideal(learned)``: the same at the seed's binarized codebook;
* ``model``: the objective the seed's trained encoder and stage-1 decoder reach at the end of stage 1 (Monte Carlo
  over fresh batches at the last stage-1 step, where the logit penalty has faded to 0).

``ideal(learned) > ideal(reference)`` means the objective prefers the reference code, so a seed that stops at a
worse code has not converged to the objective's optimum (a local minimum or too short a training), rather than
having found what the objective asks for. ``model - ideal(learned)`` is what the decoder leaves on the table.

Usage:
  python -m experiments.linear_code.diagnosis WORKDIR [WORKDIR ...] [--samples 20000] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib

import jax
import numpy as np

from neuralcodes_jax import specs
from neuralcodes_jax.analysis import model_io
from neuralcodes_jax.evaluators import codebook
from neuralcodes_jax.methods import progressive as prog


def model_objective(method: prog.Progressive, state, batches: int = 20) -> float:
    """The stage-1 loss of the trained encoder with the stage-1 decoder, at the last stage-1 step, averaged over
    ``batches`` fresh batches (the logit penalty is 0 there)."""
    params = {"encoder": state["params"]["encoder"], "decoder": method.stage1_decoder(state)}
    loss_fn = jax.jit(lambda k: method.stage1_objective(params, k))
    return float(np.mean([float(loss_fn(jax.random.key(1000 + i))) for i in range(batches)]))


def diagnose(workdir: str, samples: int) -> dict:
    seeds = sorted(d for d in os.listdir(workdir) if d.startswith("seed") and os.path.isdir(os.path.join(workdir, d)))
    if not seeds:
        raise ValueError(f"{workdir} holds no seed<s> run directories")
    rows = []
    ref_value = None
    for s in seeds:
        run_dir = os.path.join(workdir, s)
        model = model_io.load_model(run_dir, kind="latest")
        method, state = model.method, model.state
        spec = method.spec
        reference = specs.parse(codebook.CONFIG, model.config).eval.reference
        if ref_value is None:
            ref = codebook.reference_code(reference, spec.n, spec.k)
            ref_value = prog.ideal_decoder_loss(ref.codewords(), spec, jax.random.key(7), samples)
        book = np.asarray(method.codebook(state["params"]))
        learned = prog.ideal_decoder_loss(book, spec, jax.random.key(7), samples)
        report = json.loads(pathlib.Path(os.path.join(run_dir, "codebook_report.json")).read_text())
        rows.append(
            {
                "seed": s,
                "ideal_learned": learned[0],
                "ideal_learned_se": learned[1],
                "model": model_objective(method, state),
                "minimum_distance": report["minimum_distance"],
                "equivalent": report["equivalent_to"] is not None,
            }
        )
    return {
        "workdir": workdir,
        "n": spec.n,
        "k": spec.k,
        "training": spec.training,
        "encoder": spec.encoder,
        "train_p": spec.train_p,
        "reference": reference,
        "ideal_reference": ref_value[0],
        "ideal_reference_se": ref_value[1],
        "seeds": rows,
    }


def markdown(results: list[dict]) -> str:
    lines = [
        "| code | training | ideal(reference) | ideal(learned), median [min, max] | model, median [min, max] | "
        "seeds with ideal(learned) > ideal(reference) | seeds with model > ideal(reference) |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        il = np.array([s["ideal_learned"] for s in r["seeds"]])
        mo = np.array([s["model"] for s in r["seeds"]])
        margin = 3 * r["ideal_reference_se"]
        lines.append(
            f"| ({r['n']},{r['k']}) {r['reference']} | {r['training']} ({r['encoder']}) | "
            f"{r['ideal_reference']:.4f} ± {r['ideal_reference_se']:.4f} | {np.median(il):.4f} [{il.min():.4f}, "
            f"{il.max():.4f}] | {np.median(mo):.4f} [{mo.min():.4f}, {mo.max():.4f}] | "
            f"{int(np.sum(il > r['ideal_reference'] + margin))} of {il.size} | "
            f"{int(np.sum(mo > r['ideal_reference'] + margin))} of {mo.size} |"
        )
    return "\n".join(lines) + "\n"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("workdirs", nargs="+")
    parser.add_argument("--samples", type=int, default=20_000)
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    results = [diagnose(w, args.samples) for w in args.workdirs]
    print(markdown(results))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
