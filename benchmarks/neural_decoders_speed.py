"""Decoding throughput (codewords/s at batch 1000) of BP and neural BP with the same number of iterations, in one
process, alternating, on the codes of the learned-decoder benchmark.

BP is ``codes.ldpc.bp_decode`` as the library runs it (flooding sum-product on the benchmark file's matrix, per-word
early stopping, tiles of 256 with compaction; the stacked check update above ``ldpc.STACKED_ABOVE_DEGREE``); neural BP
is ``NeuralBP.decode_bits`` of ``methods/neural_bp.py``, the same ``bp_decode`` with the trained weights of
``--nbp_root/<code>`` (when present, else all-one weights: the same cost), so the same early exit and compaction.
``neural_bp_full_T_codewords_per_s`` is the jitted ``decode_llr`` (all ``T`` iterations on every word, the training
path), for comparison. The channel LLRs are those of random
codewords at ``--ebno`` dB (BP's early stopping depends on it). Each timing is the median of ``--repeats`` calls after
a warm-up call; the ratio is neural BP over BP throughput measured back to back. On a shared CPU, XLA's thread pool
suffers more from other jobs than BP's many small steps: ``XLA_FLAGS="--xla_cpu_multi_thread_eigen=false
intra_op_parallelism_threads=1"`` gives both one thread (what ``results/neural_decoders.md`` reports).

  python benchmarks/neural_decoders_speed.py --json results/neural_decoders_speed.json

``--ecct_sizes=small`` also times ECCT (``methods/ecct.py``, untrained weights: its cost does not depend on them) in
the same alternation, its ratio taken over BP.

Every code of the set is in the default list: ``bp_decode``'s stacked layout compiles the (128, k) polar matrices
(check degree up to 128) in seconds (its per-slot kernel ran for minutes and past 7 GB of memory there).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from experiments.neural_decoders.neural_bp import CODES
from neuralcodes_jax import methods
from neuralcodes_jax.codes import bounds, ldpc


def _median_seconds(fn, repeats: int) -> float:
    jax.block_until_ready(fn())
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        jax.block_until_ready(fn())
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def measure(
    code: str,
    batch: int,
    ebno: float,
    repeats: int,
    nbp_root: str | None,
    iterations: int,
    ecct_sizes: tuple[str, ...] = (),
) -> dict:
    from experiments.neural_decoders import neural_bp as nbp_config

    workdir = os.path.join(nbp_root, code) if nbp_root else None
    if workdir and os.path.isfile(os.path.join(workdir, "neural_decoder_eval.json")):  # a finished run
        from neuralcodes_jax.analysis import model_io

        model = model_io.load_model(workdir, kind="latest")
        method, params, weights = model.method, jax.device_get(model.params), "trained"
    else:
        c = nbp_config.get_config(code if code in CODES else None)
        c.code.name = code
        c.model.iterations = iterations
        method = methods.build(c, None)
        params, weights = method.init_params(jax.random.key(0)), "all ones"
    rng = np.random.default_rng(0)
    msgs = rng.integers(0, 2, (batch, method.k)).astype(np.uint8)
    words = np.asarray(method.code.encode(jnp.asarray(msgs))).astype(np.float32)
    sigma = float(bounds.ebn0_db_to_sigma(ebno, method.rate))
    llr = (2.0 * ((1.0 - 2.0 * words) + sigma * rng.normal(size=words.shape)) / sigma**2).astype(np.float32)
    graph = ldpc.TannerGraph.from_parity_check(method.parity_check)
    decode = jax.jit(method.decode_llr)
    llr_dev = jnp.asarray(llr)
    out = {
        "code": code,
        "n": method.n,
        "k": method.k,
        "iterations": method.iterations,
        "weights": weights,
        "batch": batch,
        "ebno_db": ebno,
    }
    ecct = {}
    for size in ecct_sizes:  # ECCT (methods/ecct.py); its cost does not depend on its weights
        from experiments.neural_decoders import ecct as ecct_config

        c = ecct_config.get_config(size)
        c.code.name = code
        m = methods.build(c, None)
        ecct[size] = (jax.jit(m.decode_llr), m.init_params(jax.random.key(0)), [])
    bp_s, nbp_s, full_s = [], [], []
    for _ in range(2):  # alternate, so that both see the same machine load
        bp_s.append(_median_seconds(lambda: ldpc.bp_decode(graph, llr, max_iters=method.iterations).bits, repeats))
        nbp_s.append(_median_seconds(lambda: method.decode_bits(params, llr).bits, repeats))
        full_s.append(_median_seconds(lambda: decode(params, llr_dev), repeats))
        for fn, p, times in ecct.values():
            times.append(_median_seconds(lambda fn=fn, p=p: fn(p, llr_dev), repeats))
    for size, (_, _, times) in ecct.items():
        out[f"ecct_{size}_codewords_per_s"] = batch / min(times)
        out[f"ratio_ecct_{size}_over_bp"] = batch / min(times) / (batch / min(bp_s))
    out["bp_codewords_per_s"] = batch / min(bp_s)
    out["neural_bp_codewords_per_s"] = batch / min(nbp_s)
    out["ratio_neural_bp_over_bp"] = out["neural_bp_codewords_per_s"] / out["bp_codewords_per_s"]
    out["neural_bp_full_T_codewords_per_s"] = batch / min(full_s)
    out["ratio_full_T_over_bp"] = out["neural_bp_full_T_codewords_per_s"] / out["bp_codewords_per_s"]
    bp = ldpc.bp_decode(graph, llr, max_iters=method.iterations)
    fast = method.decode_bits(params, llr)
    out["bp_mean_iterations"] = float(np.mean(bp.iterations))
    out["neural_bp_mean_iterations"] = float(np.mean(fast.iterations))
    # The early-exit decisions are the full-T decoder's (tests/test_methods_neural_bp.py); recorded here too.
    full_bits = np.asarray(decode(params, llr_dev)) < 0
    out["early_exit_equals_full_T_words"] = int(np.all(np.asarray(fast.bits).astype(bool) == full_bits, axis=1).sum())
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--codes", default=",".join(CODES))
    p.add_argument("--batch", type=int, default=1000)
    p.add_argument("--ebno", type=float, default=5.0)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--iterations", type=int, default=5)
    p.add_argument("--nbp_root", default="workdirs/nbp")
    p.add_argument("--json", default=None)
    p.add_argument(
        "--ecct_sizes",
        default="",
        help="also time ECCT of these sizes (experiments/neural_decoders/"
        "ecct.py variants, e.g. small,n6_d128), in the same alternation",
    )
    args = p.parse_args()
    ecct_sizes = tuple(s for s in args.ecct_sizes.split(",") if s)
    rows = []
    print(
        "| code | n | k | T | BP cw/s | neural BP cw/s | ratio | full-T neural BP cw/s | ratio | BP / NBP mean iters "
        "| weights |\n|---|---|---|---|---|---|---|---|---|---|---|",
        flush=True,
    )
    for code in [c for c in args.codes.split(",") if c]:
        r = measure(code, args.batch, args.ebno, args.repeats, args.nbp_root, args.iterations, ecct_sizes)
        rows.append(r)
        print(
            f"| {code} | {r['n']} | {r['k']} | {r['iterations']} | {r['bp_codewords_per_s']:.0f} | "
            f"{r['neural_bp_codewords_per_s']:.0f} | {r['ratio_neural_bp_over_bp']:.2f} | "
            f"{r['neural_bp_full_T_codewords_per_s']:.0f} | {r['ratio_full_T_over_bp']:.2f} | "
            f"{r['bp_mean_iterations']:.2f} / {r['neural_bp_mean_iterations']:.2f} | {r['weights']} |",
            flush=True,
        )
        for size in ecct_sizes:
            print(
                f"| {code} ECCT {size} | | | | | {r[f'ecct_{size}_codewords_per_s']:.0f} | "
                f"{r[f'ratio_ecct_{size}_over_bp']:.4f} (over BP) | untrained |",
                flush=True,
            )
        if args.json:  # after every row: a long run keeps what it measured
            with open(args.json, "w") as f:
                json.dump({"args": vars(args), "jax": jax.__version__, "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
