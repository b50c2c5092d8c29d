"""Where the linear method stops: is each learned code a local minimum of its surrogate over the cube?

The relaxed surrogates are (monotone functions of) multilinear polynomials in the entry probabilities ``pi``, so at
a binary ``P`` the derivative along entry ``(i, j)`` has the sign of the change that flipping that entry makes.
A code where no single flip (or pair of flips) lowers the surrogate is a local minimum of the relaxed objective:
gradient descent from nearby cannot leave it. For each seed of a ``linear_code`` group this prints the surrogate of
the learned code, the number of single flips (and, with ``--pairs``, pairs of flips) that lower it, and the
minimum distance of the best neighbour.

Usage:
  python -m experiments.linear_code.local_minima WORKDIR [--pairs] [--json OUT]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import pathlib

import jax
import jax.numpy as jnp
import numpy as np

from neuralcodes_jax import methods
from neuralcodes_jax.analysis.model_io import read_config
from neuralcodes_jax.codes import linear as codes_linear


def neighbours(p_bits: np.ndarray, pairs: bool) -> np.ndarray:
    """All parity parts at Hamming distance 1 (and 2 with ``pairs``) from ``p_bits [k, r]``: ``[N, k, r]``."""
    k, r = p_bits.shape
    flat = p_bits.reshape(-1)
    out = []
    sets = [(i,) for i in range(flat.size)]
    if pairs:
        sets += list(itertools.combinations(range(flat.size), 2))
    for s in sets:
        f = flat.copy()
        f[list(s)] ^= 1
        out.append(f.reshape(k, r))
    return np.stack(out)


def analyse(workdir: str, pairs: bool, chunk: int = 256) -> dict:
    summary = json.loads(pathlib.Path(os.path.join(workdir, "linear_code_summary.json")).read_text())
    config = read_config(summary["workdirs"][0])
    method = methods.build(config, None)
    values_fn = jax.jit(method.binarized_values)
    rows = []
    for rep in summary["seeds"]:
        g = np.array([[int(b) for b in row] for row in rep["generator"]], np.uint8)
        p_bits = g[:, method.k :]
        here = float(values_fn(jnp.asarray(2.0 * p_bits[None] - 1.0, jnp.float32))[0])
        nb = neighbours(p_bits, pairs)
        vals = np.concatenate(
            [
                np.asarray(values_fn(jnp.asarray(2.0 * nb[i : i + chunk] - 1.0, jnp.float32)))
                for i in range(0, len(nb), chunk)
            ]
        )
        n_single = method.k * (method.n - method.k)
        best = int(np.argmin(vals))
        best_code = codes_linear.LinearCode.from_generator(
            np.concatenate([np.eye(method.k, dtype=np.uint8), nb[best]], axis=1)
        )
        enum = codes_linear.weight_enumerator(best_code)
        rows.append(
            {
                "seed": rep["seed"],
                "minimum_distance": rep["minimum_distance"],
                "surrogate": here,
                "improving_single_flips": int(np.sum(vals[:n_single] < here - 1e-6)),
                "improving_pairs": int(np.sum(vals[n_single:] < here - 1e-6)) if pairs else None,
                "best_neighbour_surrogate": float(vals[best]),
                "best_neighbour_distance": int(np.flatnonzero(enum[1:])[0]) + 1,
            }
        )
    return {"workdir": workdir, "n": method.n, "k": method.k, "surrogate": method.surrogate, "seeds": rows}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("workdir")
    parser.add_argument("--pairs", action="store_true")
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    out = analyse(args.workdir, args.pairs)
    print("| seed | d_min | surrogate | improving single flips | improving pairs | best neighbour (d_min) |")
    print("|---|---|---|---|---|---|")
    for r in out["seeds"]:
        print(
            f"| {r['seed']} | {r['minimum_distance']} | {r['surrogate']:.4f} | {r['improving_single_flips']} | "
            f"{r['improving_pairs']} | {r['best_neighbour_surrogate']:.4f} ({r['best_neighbour_distance']}) |"
        )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
