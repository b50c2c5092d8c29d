"""Soft-decision ML on BPSK-AWGN: the best learned linear code of a group against its reference code.

The best code of a ``linear_code`` group is the seed with the lowest exact ML BLER on the BSC at p = 0.05.
Both codes are decoded by exact soft ML (correlation with all ``2^k`` codewords, ``k <= 12``) on the same messages
and noise (``evaluators.codebook.soft_ml_awgn``); Wilson 95 % intervals.

Usage:
  python -m experiments.linear_code.awgn WORKDIR [--ebn0 0,2,4,6] [--errors 200] [--max_blocks 1000000]
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib

import jax
import numpy as np

from neuralcodes_jax.codes import linear as codes_linear
from neuralcodes_jax.evaluators import linear_code as ev
from neuralcodes_jax.evaluators.codebook import soft_ml_awgn, uncoded_awgn_bler

MAX_K = 12


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("workdir")
    parser.add_argument("--ebn0", default="0,2,4,6")
    parser.add_argument("--errors", type=int, default=200)
    parser.add_argument("--max_blocks", type=int, default=1_000_000)
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    summary = json.loads(pathlib.Path(os.path.join(args.workdir, "linear_code_summary.json")).read_text())
    n, k = summary["n"], summary["k"]
    if k > MAX_K:
        raise ValueError(f"soft ML enumerates 2^k codewords: k must be <= {MAX_K}, got {k}")
    best = min(summary["seeds"], key=lambda r: r["ratio_to_converse"]["0.05"]["bler"])
    learned = codes_linear.LinearCode.from_generator(
        np.array([[int(b) for b in row] for row in best["generator"]], np.uint8)
    )
    ref = ev.reference(summary["reference"], n, k)
    ebn0 = [float(x) for x in args.ebn0.split(",")]
    rows = soft_ml_awgn(
        jax.random.key(0), [learned.codewords(), ref.codewords()], k, ebn0, args.errors, args.max_blocks
    )
    print(
        f"best learned seed {best['seed']} (d_min {best['minimum_distance']}, equivalent: {best['equivalent']}) "
        f"vs {summary['reference']}, soft ML, BPSK-AWGN"
    )
    print("| Eb/N0 (dB) | blocks | learned BLER [95 % CI] | reference BLER [95 % CI] | ratio | uncoded k bits |")
    print("|---|---|---|---|---|---|")
    for r, unc in zip(rows, uncoded_awgn_bler(k, ebn0)):
        a, b = r["codes"]
        print(
            f"| {r['ebn0_db']:g} | {r['blocks']} | {a['bler']:.4g} [{a['bler_ci'][0]:.3g}, {a['bler_ci'][1]:.3g}] | "
            f"{b['bler']:.4g} [{b['bler_ci'][0]:.3g}, {b['bler_ci'][1]:.3g}] | "
            f"{a['bler'] / max(b['bler'], 1e-300):.3f} | {unc:.4g} |"
        )
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"seed": best["seed"], "reference": summary["reference"], "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
