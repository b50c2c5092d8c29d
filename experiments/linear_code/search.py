"""Discrete searches on the exact surrogate, from each seed's learned code and, as the control, from random codes.

The polish stage (``eval.polish``, ``codes.flip_descent.descend``) stops at the first local minimum of the exact
surrogate at Hamming radius 2. Two searches go further, each a discrete search of its own
(``codes.flip_descent``):

* ``--search=tabu``: tabu search keeps moving to the best non-tabu single flip, also uphill, and keeps the best
  code it sees;
* ``--search=columns``: iterated column descent. Each column of ``P`` in turn is set to the best of all ``2^k``
  columns given the others (exact, one Walsh-Hadamard transform), until no column changes; then, per iteration,
  ``--kick`` random columns are redrawn (with ``--reframe``, after moving the code to a random systematic frame, so
  that the moves reach every coordinate), the code descends again and is kept when its surrogate is not higher.

Each answers two questions about a row of ``results/learned_codes_optimal.md``: does the surrogate's minimum (the
reference code) lie within reach of the search from the gradient's codes, and what does the gradient add over the
same search from a random code? These are separate rows, apart from the gradient-only and gradient + polish rows.

    python -m experiments.linear_code.search workdirs/lc24/g23_softmin --search=tabu --iterations=2000 \\
        --tenure=15 [--random] [--json=results/learned_codes/tabu_golay_23_12.json]
    python -m experiments.linear_code.search workdirs/lc24/g23_softmin --search=columns --iterations=2000 \\
        --kick=2 --random --json=results/learned_codes/columns_golay_23_12.json

Every code is reported exactly by the ``linear_code`` evaluator's ``code_report`` (weight enumerator, minimum
distance, equivalence with the reference, exact ML BLER against the converse).
"""

from __future__ import annotations

import argparse
import collections
import json
import pathlib
import time

import numpy as np

from neuralcodes_jax import methods
from neuralcodes_jax.analysis import model_io
from neuralcodes_jax.codes import flip_descent
from neuralcodes_jax.codes import linear as codes_linear
from neuralcodes_jax.config_utils import jsonable
from neuralcodes_jax.evaluators import linear_code as evaluator

SEARCHES = ("tabu", "columns")


def search_seed(
    seed_dir: pathlib.Path,
    *,
    search: str,
    iterations: int,
    tenure: int,
    kick: int,
    random_start: bool,
    reframe: bool = False,
    full_spectrum: bool = False,
) -> dict:
    """``search`` (:data:`SEARCHES`) from one seed's learned code (or, with ``random_start``, from a uniformly random
    parity part drawn with the seed) under the run's own final surrogate; the exact report of the best code
    found."""
    config = model_io.read_config(str(seed_dir))
    method = methods.build(config, None)
    report = json.loads((seed_dir / "linear_code_report.json").read_text())
    generator = np.array([[int(b) for b in row] for row in report["generator"]], np.uint8)
    k = generator.shape[0]
    seed = int(config.seed)
    start = np.random.default_rng(seed).integers(0, 2, generator[:, k:].shape) if random_start else generator[:, k:]
    t0 = time.time()
    surrogate = method.exact_surrogate()
    if full_spectrum:  # every message, not only the low-weight ones the run enumerated
        surrogate["max_message_weight"] = k
    if search == "tabu":
        out = flip_descent.tabu_search(start, iterations=iterations, tenure=tenure, seed=seed, **surrogate)
    elif search == "columns":
        out = flip_descent.column_search(
            start, iterations=iterations, kick=kick, reframe=reframe, seed=seed, **surrogate
        )
    else:
        raise ValueError(f"search must be one of {list(SEARCHES)}, got {search!r}")
    seconds = time.time() - t0
    p_grid, p_ratios, max_k, nodes, ref_name = evaluator.report_settings(config)
    ref = evaluator.reference(ref_name, generator.shape[1], k)
    code = codes_linear.LinearCode.from_generator(np.concatenate([np.eye(k, dtype=np.uint8), out["p_bits"]], 1))
    rep = evaluator.code_report(code, ref, p_grid, p_ratios, max_k, nodes)
    rep.update(
        seed=seed,
        start="random" if random_start else "learned",
        start_distance=None if random_start else report["minimum_distance"],
        surrogate_before=out["surrogate_before"],
        surrogate_after=out["surrogate_after"],
        best_iteration=out["best_iteration"],
        search=search,
        iterations=iterations,
        seconds=seconds,
        **(
            {"tenure": tenure}
            if search == "tabu"
            else {"kick": kick, "reframe": reframe, "accepted": out["accepted"], "full_spectrum": full_spectrum}
        ),
    )
    return rep


def summarize(reports: list[dict]) -> dict:
    dmins = collections.Counter(r["minimum_distance"] for r in reports)
    return {
        "seeds": len(reports),
        "reached_distance": sum(bool(r["reached_distance"]) for r in reports),
        "equivalent": sum(r["equivalent"] is True for r in reports),
        "minimum_distance_histogram": {str(d): c for d, c in sorted(dmins.items(), reverse=True)},
        "seconds": sum(r["seconds"] for r in reports),
        "median_best_iteration": float(np.median([r["best_iteration"] for r in reports])),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("roots", nargs="+", help="row workdirs (with seed*/linear_code_report.json)")
    parser.add_argument("--search", choices=SEARCHES, default="tabu")
    parser.add_argument("--iterations", type=int, default=2000)
    parser.add_argument("--tenure", type=int, default=15, help="tabu: iterations an entry stays tabu")
    parser.add_argument("--kick", type=int, default=2, help="columns: columns redrawn per iteration")
    parser.add_argument("--reframe", action="store_true", help="columns: a random systematic frame per kick")
    parser.add_argument(
        "--full_spectrum",
        action="store_true",
        help="search on the surrogate of every message (a run may enumerate fewer)",
    )
    parser.add_argument("--seeds", default="", help="only these seeds, e.g. 0-9 (default: every seed* directory)")
    parser.add_argument("--random", action="store_true", help="also search from random codes (the control)")
    parser.add_argument("--json", default=None, help="write every report and the summaries here")
    args = parser.parse_args()
    rows = {}
    for root in args.roots:
        seeds = sorted(pathlib.Path(root).glob("seed*"), key=lambda p: int(p.name[4:]))
        if args.seeds:
            low, _, high = args.seeds.partition("-")
            seeds = [s for s in seeds if int(low) <= int(s.name[4:]) <= int(high or low)]
        if not seeds:
            raise SystemExit(f"{root}: no seed*/ directories (a row of several seeds is expected)")
        for random_start in (False, True) if args.random else (False,):
            name = f"{root} ({args.search}, {'random' if random_start else 'learned'} start)"
            reports = []
            for s in seeds:
                reports.append(
                    search_seed(
                        s,
                        search=args.search,
                        iterations=args.iterations,
                        tenure=args.tenure,
                        kick=args.kick,
                        random_start=random_start,
                        reframe=args.reframe,
                        full_spectrum=args.full_spectrum,
                    )
                )
                r = reports[-1]
                print(
                    f"{name} seed {r['seed']}: d {r['start_distance']} -> {r['minimum_distance']}, "
                    f"equivalent {r['equivalent']}, best at iteration {r['best_iteration']}, {r['seconds']:.1f} s",
                    flush=True,
                )
                rows[name] = {"summary": summarize(reports), "reports": reports}
                if args.json:  # after every seed: a stopped search keeps what it found
                    pathlib.Path(args.json).write_text(json.dumps(jsonable(rows, finite=True), indent=1))
            rows[name] = {"summary": summarize(reports), "reports": reports}
            print(name, json.dumps(rows[name]["summary"]), flush=True)


if __name__ == "__main__":
    main()
