"""The ablation table of the unstructured method at (15,11) (``experiments/progressive/ablation_15_11.py``).

One row per finished ``launch.main`` WORKDIR of that config (20 seeds as one group), from the codebook evaluator's
exact reports (``codebook_summary.json``: minimum distances, equivalence to the reference, ML BLER against the
reference's and the converse, the neural decoder against ML) and, with ``--diagnosis``, the stage-1 objective the
trained models reach against the ideal decoder's value at their own binarized codebook
(``experiments/linear_code/diagnosis.py``).

Usage:
  python -m experiments.progressive.ablation_table WORKDIR[+WORKDIR] [...] [--diagnosis] [--json OUT]

A row may pool the seeds of one variant trained as separate groups: ``DIR_seeds0-9+DIR_seeds10-19``.
"""

from __future__ import annotations

import argparse
import json
import os

import numpy as np

from experiments.linear_code.table import add_histograms

HEADER = (
    "| variant | seeds | d = 3 | ML BLER = Hamming's (perfect) | sphere-packing perfect | Hamming-equivalent | "
    "d_min histogram | ML BLER / converse p=0.05, median [min, max] | neural = ML | model vs ideal(learned), "
    "median | train s |\n|---|---|---|---|---|---|---|---|---|---|---|"
)


def row(workdirs: str | list[str], diagnoses: list[dict] | None = None) -> dict:
    """One table row from one WORKDIR, or from several holding the seeds of one variant trained as separate groups
    (``--config.seed=10 --config.num_seeds=10`` beside seeds 0-9): their seeds' counts, histograms and ratios are
    pooled (``diagnoses``: one per workdir, or None)."""
    workdirs = [workdirs] if isinstance(workdirs, str) else list(workdirs)
    parts = []
    for w in workdirs:
        with open(os.path.join(w, "codebook_summary.json")) as f:
            summary = json.load(f)
        (training,) = summary["trainings"].values()
        parts.append((summary, training))
    names = {summary["name"] for summary, _ in parts}
    if len(names) != 1:
        raise ValueError(f"the workdirs of one row must hold one variant, got {sorted(names)} in {workdirs}")
    histogram = add_histograms(t["summary"]["minimum_distance_histogram"] for _, t in parts)
    seeds = [r for _, t in parts for r in t["seeds"]]
    seed_ids = [r["seed"] for r in seeds]
    if len(set(seed_ids)) != len(seed_ids):
        raise ValueError(f"the workdirs {workdirs} share seeds: {sorted(seed_ids)}")
    ratios = np.array([x for _, t in parts for x in t["summary"]["ratio_to_converse_at_0.05"]], np.float64)

    def total(key):
        return sum(t["summary"][key] for _, t in parts)

    times = [t.get("train_seconds") for _, t in parts]
    out = {
        "workdir": workdirs[0] if len(workdirs) == 1 else workdirs,
        "name": names.pop(),
        "seeds": total("num_seeds"),
        "d3": sum(int(r["minimum_distance"] == 3) for r in seeds),
        "bler_equals_reference": total("bler_equals_reference"),
        "perfect": total("perfect"),
        "equivalent": total("equivalent_to_reference"),
        "histogram": histogram,
        "ratio_median": float(np.median(ratios)),
        "ratio_min": float(ratios.min()),
        "ratio_max": float(ratios.max()),
        "neural_equals_ml": total("neural_equals_ml"),
        "train_seconds": times[0] if len(times) == 1 else times,
    }
    if diagnoses is not None:
        model = np.array([r["model"] for d in diagnoses for r in d["seeds"]])
        ideal = np.array([r["ideal_learned"] for d in diagnoses for r in d["seeds"]])
        reference = diagnoses[0]
        out["model_median"] = float(np.median(model))
        out["model_range"] = [float(model.min()), float(model.max())]
        out["ideal_learned_median"] = float(np.median(ideal))
        out["ideal_learned_range"] = [float(ideal.min()), float(ideal.max())]
        out["ideal_reference"] = reference["ideal_reference"]
        out["ideal_reference_se"] = reference["ideal_reference_se"]
        # As in diagnosis.markdown: above the reference by more than 3 standard errors of its estimate.
        margin = reference["ideal_reference"] + 3 * reference["ideal_reference_se"]
        out["seeds_ideal_learned_above_reference"] = int(np.sum(ideal > margin))
        out["diagnosis"] = diagnoses[0] if len(diagnoses) == 1 else diagnoses
    return out


def markdown(rows: list[dict]) -> str:
    lines = [HEADER]
    for r in rows:
        hist = ", ".join(f"{d} ({c})" for d, c in sorted(r["histogram"].items(), key=lambda kv: -int(kv[0])))
        diag = (
            f"{r['model_median']:.3f} vs {r['ideal_learned_median']:.3f} (reference {r['ideal_reference']:.3f}; "
            f"{r['seeds_ideal_learned_above_reference']} of {r['seeds']} seeds' codes above it)"
            if "model_median" in r
            else ""
        )
        t = r["train_seconds"]
        secs = " + ".join(f"{x:.0f}" for x in t if x is not None) if isinstance(t, list) else (f"{t:.0f}" if t else "")
        lines.append(
            f"| {r['name']} | {r['seeds']} | {r['d3']} | {r['bler_equals_reference']} | {r['perfect']} | "
            f"{r['equivalent']} | {hist} | {r['ratio_median']:.3f} [{r['ratio_min']:.3f}, {r['ratio_max']:.3f}] | "
            f"{r['neural_equals_ml']} | {diag} | {secs} |"
        )
    return "\n".join(lines) + "\n"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("workdirs", nargs="+", help="one per row; A+B: the seeds of one row trained in two groups")
    parser.add_argument("--diagnosis", action="store_true", help="also the model vs ideal objective (slower)")
    parser.add_argument("--samples", type=int, default=20_000)
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    rows = []
    for arg in args.workdirs:
        parts = arg.split("+")
        diags = None
        if args.diagnosis:
            from experiments.linear_code import diagnosis

            diags = [diagnosis.diagnose(w, args.samples) for w in parts]
        rows.append(row(parts, diags))
    print(markdown(rows))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
