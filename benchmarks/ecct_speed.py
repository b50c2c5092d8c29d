"""Decoding throughput of ECCT beside BP with 5 iterations, in one process (codewords/s at batch 1000).

ECCT (``methods/ecct.py``, sizes N = 2, d = 32 and N = 6, d = 128 by default) decodes a batch in one jitted
forward pass; BP is ``codes.ldpc.bp_decode`` (flooding sum-product, ``max_iters=5``, per-word early stop) on the
same benchmark matrix, called two ways: inside ``jax.jit`` (the whole batch iterates until every word stopped, as in
the evaluator) and eagerly (its tiles and compaction). Channel LLRs of random codewords at Eb/N0 = 5 dB. The
methods are timed in turn, ``--repeats`` rounds, and the median of each is reported, so that load from other
processes hits all of them alike; the ratio to BP (jit) is the number to compare across machines.

  python3 benchmarks/ecct_speed.py --codes=BCH_N63_K45,POLAR_N64_K32 --json=results/ecct_speed.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import jax
import jax.numpy as jnp
import numpy as np

from experiments.neural_decoders import ecct as ecct_config
from neuralcodes_jax import methods
from neuralcodes_jax.codes import bounds, ldpc


def _time(fn, llr, calls: int) -> float:
    jax.block_until_ready(fn(llr))
    t0 = time.perf_counter()
    for _ in range(calls):
        out = fn(llr)
    jax.block_until_ready(out)
    return (time.perf_counter() - t0) / calls


def run(codes, sizes, batch: int, repeats: int, calls: int, ebno: float) -> list[dict]:
    rows = []
    for code in codes:
        decoders = {}
        method = None
        for size in sizes:
            c = ecct_config.get_config(f"{size},{code}" if code in ecct_config.CODES else size)
            c.code.name = code
            method = methods.build(c, None)
            params = method.init(jax.random.key(0))["params"]
            decoders[f"ecct_{size}"] = jax.jit(lambda llr, m=method, p=params: m.decode_llr(p, llr) < 0)
        graph = ldpc.TannerGraph.from_parity_check(method.parity_check)
        decoders["bp5_jit"] = jax.jit(lambda llr, g=graph: ldpc.bp_decode(g, llr, max_iters=5).bits)
        decoders["bp5_eager"] = lambda llr, g=graph: ldpc.bp_decode(g, llr, max_iters=5).bits
        key_m, key_z = jax.random.split(jax.random.key(1))
        words = method.code.encode(jax.random.bernoulli(key_m, 0.5, (batch, method.k)).astype(jnp.uint8))
        sigma = float(bounds.ebn0_db_to_sigma(ebno, method.rate))
        y = (1.0 - 2.0 * jnp.asarray(words, jnp.float32)) + sigma * jax.random.normal(key_z, (batch, method.n))
        llr = 2.0 * y / sigma**2
        times = {name: [] for name in decoders}
        for _ in range(repeats):
            for name, fn in decoders.items():
                times[name].append(_time(fn, llr, calls))
        med = {name: statistics.median(t) for name, t in times.items()}
        for name, t in med.items():
            rows.append(
                {
                    "code": code,
                    "decoder": name,
                    "batch": batch,
                    "seconds_per_batch": t,
                    "codewords_per_s": batch / t,
                    "ratio_to_bp5_jit": med["bp5_jit"] / t,
                    "all_seconds": times[name],
                }
            )
            print(
                f"{code:16s} {name:16s} {batch / t:10.0f} codewords/s  x{med['bp5_jit'] / t:.3f} of BP-5 (jit)",
                flush=True,
            )
    return rows


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--codes", default="BCH_N63_K45,POLAR_N64_K32")
    p.add_argument("--sizes", default="small,n6_d128")
    p.add_argument("--batch", type=int, default=1000)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--calls", type=int, default=3)
    p.add_argument("--ebno", type=float, default=5.0)
    p.add_argument("--json", default="")
    args = p.parse_args(argv)
    rows = run(
        [c for c in args.codes.split(",") if c],
        [s for s in args.sizes.split(",") if s],
        args.batch,
        args.repeats,
        args.calls,
        args.ebno,
    )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(
                {"args": vars(args), "jax": jax.__version__, "devices": [str(d) for d in jax.devices()], "rows": rows},
                f,
                indent=1,
            )
    return np.asarray([r["codewords_per_s"] for r in rows])


if __name__ == "__main__":
    main()
