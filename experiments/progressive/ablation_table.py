"""The ablation table of the unstructured method at (15,11) (``experiments/progressive/ablation_15_11.py``).

One row per finished ``launch.main`` WORKDIR of that config (20 seeds as one group), from the codebook evaluator's
exact reports (``codebook_summary.json``: minimum distances, equivalence to the reference, ML BLER against the
reference's and the converse, the neural decoder against ML) and, with ``--diagnosis``, the stage-1 objective the
trained models reach against the ideal decoder's value at their own binarized codebook
(``experiments/linear_code/diagnosis.py``).

Usage:
  python -m experiments.progressive.ablation_table WORKDIR [WORKDIR ...] [--diagnosis] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import os

import numpy as np

HEADER = (
    "| variant | seeds | d = 3 | ML BLER = Hamming's (perfect) | sphere-packing perfect | Hamming-equivalent | "
    "d_min histogram | ML BLER / converse p=0.05, median [min, max] | neural = ML | model vs ideal(learned), "
    "median | train s |\n|---|---|---|---|---|---|---|---|---|---|---|"
)


def row(workdir: str, diagnosis: dict | None = None) -> dict:
    with open(os.path.join(workdir, "codebook_summary.json")) as f:
        summary = json.load(f)
    (training,) = summary["trainings"].values()
    s = training["summary"]
    seeds = training["seeds"]
    ratios = np.array(s["ratio_to_converse_at_0.05"], np.float64)
    out = {
        "workdir": workdir,
        "name": summary["name"],
        "seeds": s["num_seeds"],
        "d3": sum(int(r["minimum_distance"] == 3) for r in seeds),
        "bler_equals_reference": s["bler_equals_reference"],
        "perfect": s["perfect"],
        "equivalent": s["equivalent_to_reference"],
        "histogram": s["minimum_distance_histogram"],
        "ratio_median": float(np.median(ratios)),
        "ratio_min": float(ratios.min()),
        "ratio_max": float(ratios.max()),
        "neural_equals_ml": s["neural_equals_ml"],
        "train_seconds": training.get("train_seconds"),
    }
    if diagnosis is not None:
        model = np.array([r["model"] for r in diagnosis["seeds"]])
        ideal = np.array([r["ideal_learned"] for r in diagnosis["seeds"]])
        out["model_median"] = float(np.median(model))
        out["model_range"] = [float(model.min()), float(model.max())]
        out["ideal_learned_median"] = float(np.median(ideal))
        out["ideal_learned_range"] = [float(ideal.min()), float(ideal.max())]
        out["ideal_reference"] = diagnosis["ideal_reference"]
        out["ideal_reference_se"] = diagnosis["ideal_reference_se"]
        # As in diagnosis.markdown: above the reference by more than 3 standard errors of its estimate.
        margin = diagnosis["ideal_reference"] + 3 * diagnosis["ideal_reference_se"]
        out["seeds_ideal_learned_above_reference"] = int(np.sum(ideal > margin))
        out["diagnosis"] = diagnosis
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
        secs = f"{r['train_seconds']:.0f}" if r["train_seconds"] is not None else ""
        lines.append(
            f"| {r['name']} | {r['seeds']} | {r['d3']} | {r['bler_equals_reference']} | {r['perfect']} | "
            f"{r['equivalent']} | {hist} | {r['ratio_median']:.3f} [{r['ratio_min']:.3f}, {r['ratio_max']:.3f}] | "
            f"{r['neural_equals_ml']} | {diag} | {secs} |"
        )
    return "\n".join(lines) + "\n"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("workdirs", nargs="+")
    parser.add_argument("--diagnosis", action="store_true", help="also the model vs ideal objective (slower)")
    parser.add_argument("--samples", type=int, default=20_000)
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    rows = []
    for w in args.workdirs:
        diag = None
        if args.diagnosis:
            from experiments.linear_code import diagnosis

            diag = diagnosis.diagnose(w, args.samples)
        rows.append(row(w, diag))
    print(markdown(rows))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
