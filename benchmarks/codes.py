"""Benchmark of the classical-code tools: exact evaluation time and syndrome-decoding throughput.

1. Exact evaluation of Golay(23,12) at 50 values of p (coding-anchors Sec. 2.4): the generic codebook
   path (enumerating all 2^23 received words: ML BLER, ML decoder table, BER of that decoder via
   Walsh-Hadamard transforms) and the linear-code path (coset-leader formulas), each split into the
   one-off enumeration and the evaluation of the resulting polynomials at the 50 values of p.
2. Syndrome-decoding throughput (codewords/s) of the jitted JAX decoder and the plain NumPy
   decoder, in the same run, on the same random received words, at a stated batch size.

Usage:
  python benchmarks/codes.py [--batch-size 65536] [--repeats 5] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from typing import Any

import jax
import numpy as np

from neuralcodes_jax.codes import exact, linear


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def bench_exact_golay(num_p: int = 50) -> dict[str, Any]:
    code = linear.golay_code()
    dec = linear.SyndromeDecoder(code)
    cw = code.codewords()
    ps = np.linspace(0.001, 0.5, num_p)
    out: dict[str, Any] = {"code": code.name, "num_p": num_p}

    t_ml, ml_bler = _timed(lambda: exact.ml_bler_bsc(cw))
    t_table, table = _timed(lambda: exact.ml_decoder_table(cw))
    t_ber, ber = _timed(lambda: exact.decoder_ber_bsc(cw, table))
    t_eval, _ = _timed(lambda: (ml_bler(ps), ber(ps)))
    out["generic"] = {
        "ml_bler_s": t_ml,
        "ml_table_s": t_table,
        "ber_s": t_ber,
        "eval_50p_s": t_eval,
        "total_s": t_ml + t_table + t_ber + t_eval,
    }

    t_bler, fast_bler = _timed(lambda: exact.syndrome_bler_bsc(dec))
    t_fber, fast_ber = _timed(lambda: exact.syndrome_ber_bsc(dec))
    t_feval, _ = _timed(lambda: (fast_bler(ps), fast_ber(ps)))
    out["linear"] = {"bler_s": t_bler, "ber_s": t_fber, "eval_50p_s": t_feval, "total_s": t_bler + t_fber + t_feval}
    out["agree"] = bool(ml_bler == fast_bler and ber == fast_ber)
    out["bler_at_0.05"] = fast_bler(0.05)
    out["ber_at_0.05"] = fast_ber(0.05)
    return out


def _throughput(fn: Callable[[], Any], batch: int, repeats: int) -> float:
    fn()  # warm-up (and compilation for the jitted decoder)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return batch / statistics.median(times)


def bench_decoders(batch_size: int, repeats: int, seed: int = 0) -> list[dict[str, Any]]:
    rng = np.random.default_rng(seed)
    rows = []
    for code in (linear.hamming_code(3), linear.hamming_code(4), linear.golay_code()):
        dec = linear.SyndromeDecoder(code)
        received = rng.integers(0, 2, (batch_size, code.n)).astype(np.uint8)
        on_device = jax.device_put(received)
        jax_cps = _throughput(lambda d=dec, r=on_device: d.decode(r).block_until_ready(), batch_size, repeats)
        np_cps = _throughput(lambda d=dec, r=received: d.decode_numpy(r), batch_size, repeats)
        same = bool(np.array_equal(np.asarray(dec.decode(on_device)), dec.decode_numpy(received)))
        rows.append(
            {
                "code": code.name,
                "n": code.n,
                "k": code.k,
                "batch_size": batch_size,
                "jax_jit_codewords_per_s": jax_cps,
                "numpy_codewords_per_s": np_cps,
                "speedup": jax_cps / np_cps,
                "outputs_identical": same,
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=65536, help="received words per decoder call")
    parser.add_argument("--repeats", type=int, default=5, help="timed calls per decoder (median reported)")
    parser.add_argument("--num-p", type=int, default=50, help="values of p for the exact evaluation")
    parser.add_argument("--json", type=str, default=None, help="write the results to this JSON file")
    args = parser.parse_args()
    if args.batch_size < 1 or args.repeats < 1 or args.num_p < 1:
        parser.error("--batch-size, --repeats and --num-p must be positive")

    env = {
        "python": platform.python_version(),
        "jax": jax.__version__,
        "numpy": np.__version__,
        "backend": jax.default_backend(),
        "devices": len(jax.devices()),
        "cpu_count": os.cpu_count(),
        "load_average_1min": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
    }
    golay = bench_exact_golay(args.num_p)
    decoders = bench_decoders(args.batch_size, args.repeats)

    print(f"Environment: {env}")
    print(f"\nExact evaluation of {golay['code']} at {golay['num_p']} values of p (seconds)")
    print(f"{'path':<10}{'enumeration steps':<58}{'eval 50 p':>10}{'total':>9}")
    g = golay["generic"]
    steps = f"ML BLER {g['ml_bler_s']:.2f} + ML table {g['ml_table_s']:.2f} + BER {g['ber_s']:.2f}"
    print(f"{'generic':<10}{steps:<58}{g['eval_50p_s']:>10.4f}{g['total_s']:>9.2f}")
    f = golay["linear"]
    steps = f"coset BLER {f['bler_s']:.4f} + coset BER {f['ber_s']:.2f}"
    print(f"{'linear':<10}{steps:<58}{f['eval_50p_s']:>10.4f}{f['total_s']:>9.2f}")
    print(
        f"paths agree exactly: {golay['agree']}; BLER(0.05) = {golay['bler_at_0.05']:.4e}, "
        f"BER(0.05) = {golay['ber_at_0.05']:.4e}"
    )

    print(f"\nSyndrome decoding throughput, batch size {args.batch_size}, median of {args.repeats} calls")
    print(f"{'code':<18}{'JAX jit (cw/s)':>16}{'NumPy (cw/s)':>16}{'speedup':>9}{'identical':>11}")
    for row in decoders:
        print(
            f"{row['code']:<18}{row['jax_jit_codewords_per_s']:>16.3e}{row['numpy_codewords_per_s']:>16.3e}"
            f"{row['speedup']:>9.2f}{row['outputs_identical']!s:>11}"
        )

    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"environment": env, "exact_golay": golay, "syndrome_decoding": decoders}, fh, indent=2)
        print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
