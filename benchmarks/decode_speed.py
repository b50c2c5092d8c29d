"""Decoding speed: NECST's neural decoder against belief propagation on the same number of channel bits.

NECST (Choi et al. 2019, section 5.4, Fig. 3 right) times one forward pass of its decoder against 50 iterations of LDPC
belief propagation "based on an optimized C implementation" and reports about an order of magnitude in NECST's favour
on CPU, with and without batching. Here, for m channel bits (m = 100: Binary MNIST; m = 200: Omniglot, the paper's
timing dataset):

* NECST decoder: the MLP decoder of NECST (m -> 500 -> 500 -> 784, ``nets.MLPDecoder``), jitted, on a batch of
  received m-bit words, up to the output logits. Random weights (the speed does not depend on them).
* BP, JAX: ``codes.ldpc.bp_decode`` (flooding sum-product, per-codeword early stopping, at most ``--max-iters``
  iterations, jitted and batched) on a regular (3,6) LDPC code of length m (progressive edge growth,
  ``analysis.separation.make_ldpc_link``), channel LLRs included.
* BP, C++: ``ldpc.BpDecoder`` (PyPI ``ldpc``; product-sum, parallel schedule, the same maximum iterations, early
  stopping), one ``decode`` call per word in a Python loop, the only interface it has.

Received words are random codewords through BSC(eps). At small eps BP stops after a few iterations; at eps = 0.2 a
rate-1/2 code of this length never converges, so every word runs all ``--max-iters`` iterations (the paper's "50
iterations"). The table gives codewords/s (median over ``--repeats`` interleaved timed passes over at least
``--min-words`` words, i.e. many calls for batch 1), the mean BP iteration count, the agreement of the two BP
implementations, and NECST's speed ratio to each. Ratios are measured in the same
run, so they stay meaningful on a busy machine.

Usage:
  python benchmarks/decode_speed.py [--channel-bits 100,200] [--batch-sizes 1,1000] [--eps 0.05,0.2]
      [--max-iters 50] [--repeats 5] [--min-words 200] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import jax
import jax.numpy as jnp

from neuralcodes_jax import nets
from neuralcodes_jax.analysis import separation
from neuralcodes_jax.codes import ldpc as jldpc


def _time(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def bench_one(
    m: int, batch: int, eps: float, max_iters: int, repeats: int, min_words: int = 200, seed: int = 0
) -> dict[str, Any]:
    """Codewords/s of the three decoders for m channel bits, one batch size and one noise level.

    ``max(batch, min_words)`` received words (a multiple of ``batch``) are decoded in calls of ``batch`` words, so
    that small batches are timed over many different words (BP's iteration count varies from word to word).
    """
    from ldpc import BpDecoder

    rng = np.random.default_rng(seed)
    link = separation.make_ldpc_link(m, m // 2)
    code = link.code
    calls = max(1, -(-min_words // batch))
    words = link.encode(rng.integers(0, 2, (calls * batch, link.num_source_bits)))
    received = (words ^ (rng.random(words.shape) < eps)).astype(np.uint8)
    llr = jldpc.channel_llr("bsc", received, eps)
    chunks = [slice(i * batch, (i + 1) * batch) for i in range(calls)]

    decoder = nets.make_decoder("mlp", (28, 28, 1))
    y = [jnp.asarray(received[c], jnp.float32) for c in chunks]
    params = decoder.init(jax.random.key(seed), y[0][:1])
    necst = jax.jit(decoder.apply)
    llr_chunks = [llr[c] for c in chunks]

    def run_necst():
        for yc in y:
            necst(params, yc).block_until_ready()

    def run_jax_bp():
        out = []
        for lc in llr_chunks:
            res = jldpc.bp_decode(code, lc, algorithm="sum_product", max_iters=max_iters)
            res.bits.block_until_ready()
            out.append(res)
        return out

    cpp = BpDecoder(
        code.parity_check,
        error_rate=eps,
        max_iter=max_iters,
        bp_method="product_sum",
        schedule="parallel",
        input_vector_type="received_vector",
    )

    def run_cpp_bp():
        out = np.empty_like(received)
        iters = np.empty(received.shape[0], np.int64)
        for i in range(received.shape[0]):
            out[i] = cpp.decode(received[i])
            iters[i] = cpp.iter
        return out, iters

    # Warm-up (compilation), then interleaved timings.
    run_necst()
    jax_res = run_jax_bp()
    cpp_bits, cpp_iters = run_cpp_bp()
    times: dict[str, list[float]] = {"necst": [], "bp_jax": [], "bp_cpp": []}
    for _ in range(repeats):
        times["necst"].append(_time(run_necst))
        times["bp_jax"].append(_time(run_jax_bp))
        times["bp_cpp"].append(_time(run_cpp_bp))
    n_words = received.shape[0]
    cps = {k: n_words / statistics.median(v) for k, v in times.items()}
    jax_bits = np.concatenate([np.asarray(r.bits) for r in jax_res])
    jax_iters = np.concatenate([np.asarray(r.iterations) for r in jax_res])
    return {
        "channel_bits": m,
        "batch_size": batch,
        "words": n_words,
        "calls": calls,
        "eps": eps,
        "max_iters": max_iters,
        "code": link.description,
        "necst_codewords_per_s": cps["necst"],
        "bp_jax_codewords_per_s": cps["bp_jax"],
        "bp_cpp_codewords_per_s": cps["bp_cpp"],
        "necst_over_bp_jax": cps["necst"] / cps["bp_jax"],
        "necst_over_bp_cpp": cps["necst"] / cps["bp_cpp"],
        "bp_jax_mean_iterations": float(np.mean(jax_iters)),
        "bp_cpp_mean_iterations": float(np.mean(cpp_iters)),
        "bp_jax_frame_error_rate": float(np.mean(np.any(jax_bits != words, axis=1))),
        "bp_cpp_frame_error_rate": float(np.mean(np.any(cpp_bits != words, axis=1))),
        "bp_outputs_agree": float(np.mean(np.all(jax_bits == cpp_bits, axis=1))),
        "median_seconds": {k: statistics.median(v) for k, v in times.items()},
    }


def _ints(text: str) -> list[int]:
    return [int(t) for t in text.split(",") if t.strip()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--channel-bits", type=_ints, default=[100, 200], help="m, comma-separated (even)")
    parser.add_argument("--batch-sizes", type=_ints, default=[1, 1000], help="words per call, comma-separated")
    parser.add_argument(
        "--eps",
        type=lambda s: [float(t) for t in s.split(",")],
        default=[0.05, 0.2],
        help="BSC crossover probabilities of the received words, in (0, 0.5)",
    )
    parser.add_argument("--max-iters", type=int, default=50, help="BP iteration cap (both implementations)")
    parser.add_argument("--repeats", type=int, default=5, help="timed passes per decoder (median reported)")
    parser.add_argument(
        "--min-words", type=int, default=200, help="words decoded per timed pass (small batches: that many calls)"
    )
    parser.add_argument("--json", type=str, default=None, help="write the results to this JSON file")
    args = parser.parse_args()
    if any(m < 6 or m % 2 for m in args.channel_bits):
        parser.error("--channel-bits must be even numbers >= 6 (rate-1/2 (3,6) codes)")
    if any(b < 1 for b in args.batch_sizes) or min(args.repeats, args.max_iters, args.min_words) < 1:
        parser.error("--batch-sizes, --repeats, --max-iters and --min-words must be positive")
    if any(not 0.0 < e < 0.5 for e in args.eps):
        parser.error("--eps entries must be in (0, 0.5)")

    env = {
        "python": platform.python_version(),
        "jax": jax.__version__,
        "numpy": np.__version__,
        "backend": jax.default_backend(),
        "devices": len(jax.devices()),
        "cpu_count": os.cpu_count(),
        "load_average_1min": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
    }
    rows = []
    for m in args.channel_bits:
        for eps in args.eps:
            for batch in args.batch_sizes:
                rows.append(bench_one(m, batch, eps, args.max_iters, args.repeats, args.min_words))
                r = rows[-1]
                print(
                    f"m={m} eps={eps:g} batch={batch}: NECST {r['necst_codewords_per_s']:.3e} cw/s, "
                    f"BP JAX {r['bp_jax_codewords_per_s']:.3e}, BP C++ {r['bp_cpp_codewords_per_s']:.3e}",
                    flush=True,
                )
    env["load_average_1min_end"] = os.getloadavg()[0] if hasattr(os, "getloadavg") else None

    print(f"\nEnvironment: {env}")
    print(
        f"Codewords per second (median of {args.repeats} interleaved passes over max(batch, {args.min_words}) "
        f"words); BP: sum-product, at most {args.max_iters} iterations, early stopping; iters, FER: JAX BP; "
        f"agree: fraction of words decoded identically by the two BP implementations"
    )
    head = (
        f"{'m':>4}{'eps':>6}{'batch':>7}{'NECST dec':>12}{'BP JAX':>11}{'BP C++':>11}{'NECST/JAX':>11}"
        f"{'NECST/C++':>11}{'iters':>7}{'FER':>7}{'agree':>7}"
    )
    print(head)
    for r in rows:
        print(
            f"{r['channel_bits']:>4}{r['eps']:>6g}{r['batch_size']:>7}{r['necst_codewords_per_s']:>12.3e}"
            f"{r['bp_jax_codewords_per_s']:>11.3e}{r['bp_cpp_codewords_per_s']:>11.3e}"
            f"{r['necst_over_bp_jax']:>11.1f}{r['necst_over_bp_cpp']:>11.1f}{r['bp_jax_mean_iterations']:>7.1f}"
            f"{r['bp_jax_frame_error_rate']:>7.3f}{r['bp_outputs_agree']:>7.3f}"
        )
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"environment": env, "args": vars(args), "rows": rows}, fh, indent=2)
        print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
