"""Saturation of the entry logits over training (issue 24): the fraction of ``|theta|`` above
``methods.linear_code.SATURATION_LOGIT`` (the metric ``train/saturated``), the distance of the entries to binary
and the surrogate, mean over the seeds of each run set, at every logged step; with the final d_min histogram.

Usage:
  python -m experiments.linear_code.saturation WORKDIR [WORKDIR ...] [--every 200]
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import pathlib

import numpy as np


def curves(workdir: str) -> dict:
    summary = json.loads(pathlib.Path(workdir, "linear_code_summary.json").read_text())
    by_step = collections.defaultdict(lambda: collections.defaultdict(list))
    for wd in summary["workdirs"]:
        for line in pathlib.Path(wd, "metrics.jsonl").read_text().splitlines():
            rec = json.loads(line)
            if "train/saturated" in rec:
                for key in ("saturated", "distance_to_binary", "surrogate"):
                    by_step[rec["step"]][key].append(rec[f"train/{key}"])
    steps = sorted(by_step)
    return {
        "workdir": workdir,
        "training": summary.get("training", summary["surrogate"]),
        "histogram": summary["summary"]["minimum_distance_histogram"],
        "steps": steps,
        **{
            key: [float(np.mean(by_step[s][key])) for s in steps]
            for key in ("saturated", "distance_to_binary", "surrogate")
        },
    }


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("workdirs", nargs="+")
    parser.add_argument("--every", type=int, default=200)
    args = parser.parse_args(argv)
    for wd in args.workdirs:
        c = curves(wd)
        hist = ", ".join(f"{d} ({n})" for d, n in c["histogram"].items())
        print(f"\n{os.path.basename(wd.rstrip('/'))}: {c['training']}; d_min {hist}\n")
        print("| step | saturated (abs(theta) > 4) | distance to binary | surrogate |")
        print("|---|---|---|---|")
        for i, s in enumerate(c["steps"]):
            if s % args.every == 0 or i == len(c["steps"]) - 1:
                print(f"| {s} | {c['saturated'][i]:.3f} | {c['distance_to_binary'][i]:.4f} | {c['surrogate'][i]:.4f} |")


if __name__ == "__main__":
    main()
