"""BP decoding throughput: the batched JAX decoder against the C++ decoder of the PyPI ``ldpc`` package.

Setting (coding-anchors sec. 1.6): a (3,6) Gallager code with n = 1008 (k = 506), BSC with p = 0.05, flooding
schedule, at most 50 iterations, per-codeword early stopping, sum-product and normalised min-sum (alpha = 0.75)
in both decoders. The C++ decoder (``ldpc.BpDecoder``, one thread) decodes one word per call, so its throughput does
not depend on a batch size; the JAX decoder (:func:`neuralcodes_jax.codes.ldpc.bp_decode`) is timed at every
requested batch size. All decoders see the same received words; throughputs are medians over rounds that
interleave the decoders, and each ratio JAX / C++ is taken within the run, which keeps it meaningful on a busy
machine. Throughput is reported as codewords/s and coded Mb/s (``n`` bits per codeword), with the iterations
actually used (mean and max over the words; early stopping makes both decoders faster at low noise).

``--code NAME`` takes another parity-check matrix instead (a file of the learned-decoder benchmark such as
``POLAR_N64_K32``, or a ``codes.catalog`` spec): with ``--stacked on`` (or ``auto`` above
``ldpc.STACKED_ABOVE_DEGREE``) it checks the stacked check update, which the dense polar matrices use, against the C++
decoder. Every JAX row reports its agreement with the C++ decoder: the share of words with the same decision and the
same iteration count, over all words and over those the C++ decoder converged on (non-converged words may end on
other bits: float64 against float32, unclipped against clipped messages).

Usage:
  python benchmarks/bp_throughput.py [--batch-sizes 1,1000] [--rounds 5] [--cores N] [--json PATH]
  python benchmarks/bp_throughput.py --code POLAR_N128_K64 --p 0.02 --max-iters 5 --stacked on --batch-sizes 1000
"""

from __future__ import annotations

import argparse
import os
import sys


def _parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1008, help="block length of the (3,6) code")
    parser.add_argument("--p", type=float, default=0.05, help="BSC crossover probability")
    parser.add_argument("--max-iters", type=int, default=50, help="maximum BP iterations")
    parser.add_argument("--alpha", type=float, default=0.75, help="min-sum normalisation (both decoders)")
    parser.add_argument("--batch-sizes", type=str, default="1,1000", help="JAX batch sizes, comma separated")
    parser.add_argument(
        "--words",
        type=int,
        default=1000,
        help="received words per round (C++ and every JAX batch size >= 2 decode all of them)",
    )
    parser.add_argument("--single-words", type=int, default=200, help="words per round at batch size 1")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved timing rounds (medians reported)")
    parser.add_argument(
        "--cores", type=int, default=0, help="pin the process to this many cores before JAX starts (0: no pinning)"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the code and of the channel noise")
    parser.add_argument("--json", type=str, default=None, help="write the results to this JSON file")
    parser.add_argument(
        "--code", type=str, default=None, help="a benchmark code name or codes.catalog spec instead of the (3,6) code"
    )
    parser.add_argument(
        "--stacked", choices=("auto", "on", "off"), default="auto", help="bp_decode's check layout (auto: by degree)"
    )
    args = parser.parse_args()
    if args.words < 1 or args.single_words < 1 or args.rounds < 1 or args.max_iters < 1:
        parser.error("--words, --single-words, --rounds and --max-iters must be positive")
    return args


ARGS = _parse_args() if __name__ == "__main__" else None
if ARGS is not None and ARGS.cores:
    os.sched_setaffinity(0, set(sorted(os.sched_getaffinity(0))[: ARGS.cores]))

import importlib.util
import json
import platform
import statistics
import time
from collections.abc import Callable
from typing import Any

import jax
import numpy as np

from neuralcodes_jax.codes import ldpc

ALGORITHMS = {"sum_product": "product_sum", "min_sum": "minimum_sum"}


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def _cpp_decoder(code: ldpc.LdpcCode, p: float, algorithm: str, alpha: float, max_iters: int) -> Any:
    from ldpc import BpDecoder

    return BpDecoder(
        code.parity_check,
        error_rate=p,
        max_iter=max_iters,
        bp_method=ALGORITHMS[algorithm],
        ms_scaling_factor=alpha if algorithm == "min_sum" else 1.0,
        schedule="parallel",
        input_vector_type="received_vector",
    )


def run(args: argparse.Namespace) -> dict[str, Any]:
    batch_sizes = sorted({int(b) for b in args.batch_sizes.split(",")})
    if batch_sizes[0] < 1:
        raise SystemExit("--batch-sizes must be positive integers")
    load_before = os.getloadavg()[0]
    if args.code:
        from neuralcodes_jax.methods import _neural_decoder as nd

        tables = nd.CodeTables.of(nd.make_code(args.code))
        code = ldpc.LdpcCode(tables.parity_check, args.code)
    else:
        code = ldpc.LdpcCode.gallager(args.n, 3, 6, seed=args.seed)
    stacked = {"auto": None, "on": True, "off": False}[args.stacked]
    rng = np.random.default_rng(args.seed)
    words = max(args.words, max(batch_sizes))
    sent = code.encode(rng.integers(0, 2, (words, code.k)).astype(np.uint8))
    received = sent ^ (rng.random(sent.shape) < args.p).astype(np.uint8)
    llr_np = ldpc.channel_llr("bsc", received, args.p)
    llr = jax.device_put(llr_np)
    singles = [jax.device_put(llr_np[i : i + 1]) for i in range(min(args.single_words, words))]
    have_cpp = importlib.util.find_spec("ldpc") is not None  # the PyPI package (C++ decoder), optional

    rows: list[dict[str, Any]] = []
    for algorithm in ALGORITHMS:
        alpha = args.alpha if algorithm == "min_sum" else None
        kw = dict(algorithm=algorithm, alpha=alpha, max_iters=args.max_iters, stacked=stacked)
        variants: dict[str, Callable[[], Any]] = {}
        stats: dict[str, dict[str, Any]] = {}
        if have_cpp:
            dec = _cpp_decoder(code, args.p, algorithm, args.alpha, args.max_iters)

            def cpp_pass(dec=dec) -> Any:
                out = np.empty_like(received)
                iters = np.empty(words, np.int64)
                for i in range(words):
                    out[i] = dec.decode(received[i])
                    iters[i] = dec.iter
                return out, iters

            variants["cpp"] = cpp_pass
        for b in batch_sizes:
            if b == 1:

                def single_pass(kw=kw) -> Any:
                    res = [ldpc.bp_decode(code, x, **kw) for x in singles]
                    jax.block_until_ready(res)
                    return (
                        np.concatenate([np.asarray(r.bits) for r in res]),
                        np.concatenate([np.asarray(r.iterations) for r in res]),
                    )

                variants["jax_b1"] = single_pass
            else:
                chunks = [llr[s : s + b] for s in range(0, words - b + 1, b)]

                def batch_pass(chunks=chunks, kw=kw, compaction=4) -> Any:
                    res = [ldpc.bp_decode(code, c, compaction=compaction, **kw) for c in chunks]
                    jax.block_until_ready(res)
                    return (
                        np.concatenate([np.asarray(r.bits) for r in res]),
                        np.concatenate([np.asarray(r.iterations) for r in res]),
                    )

                variants[f"jax_b{b}"] = batch_pass
                if b == batch_sizes[-1]:
                    variants[f"jax_b{b}_nocompaction"] = lambda chunks=chunks, kw=kw: batch_pass(
                        chunks, kw, compaction=None
                    )
        ref = None
        for name, fn in variants.items():  # warm-up: compilation, and the outputs for the statistics
            seconds, (bits, iters) = _timed(fn)
            n_words = bits.shape[0]
            if name == "cpp":
                ref = (bits, iters, ~np.asarray(code.syndrome(bits)).any(axis=1))
            same = same_conv = None
            if ref is not None:
                agree = np.all(bits == ref[0][:n_words], axis=1) & (iters == ref[1][:n_words])
                same, same_conv = agree.mean(), agree[ref[2][:n_words]].mean()
            stats[name] = {
                "agreement_vs_cpp": None if same is None else float(same),
                "agreement_vs_cpp_converged": None if same_conv is None else float(same_conv),
                "first_call_s": seconds,
                "words_per_pass": n_words,
                "mean_iterations": float(iters.mean()),
                "max_iterations": int(iters.max()),
                "bler": float((bits != sent[:n_words]).any(axis=1).mean()),
                "times": [],
            }
        for _ in range(args.rounds):
            for name, fn in variants.items():
                seconds, _ = _timed(fn)
                stats[name]["times"].append(seconds)
        base = None
        if have_cpp:
            base = stats["cpp"]["words_per_pass"] / statistics.median(stats["cpp"]["times"])
        for name, st in stats.items():
            cps = st["words_per_pass"] / statistics.median(st["times"])
            batch = 1 if name in ("cpp", "jax_b1") else int(name.split("_b")[1].split("_")[0])
            rows.append(
                {
                    "algorithm": algorithm,
                    "decoder": "C++ ldpc.BpDecoder (1 thread)"
                    if name == "cpp"
                    else ("JAX bp_decode" + (" (compaction off)" if name.endswith("nocompaction") else "")),
                    "batch_size": batch,
                    "codewords_per_s": cps,
                    "coded_mbit_per_s": cps * code.n / 1e6,
                    "info_mbit_per_s": cps * code.k / 1e6,
                    "ratio_vs_cpp": cps / base if base else None,
                    "mean_iterations": st["mean_iterations"],
                    "max_iterations": st["max_iterations"],
                    "bler": st["bler"],
                    "agreement_vs_cpp": st["agreement_vs_cpp"],
                    "agreement_vs_cpp_converged": st["agreement_vs_cpp_converged"],
                    "words_per_pass": st["words_per_pass"],
                    "pass_seconds": st["times"],
                    "first_call_s": st["first_call_s"],
                }
            )
    env = {
        "python": platform.python_version(),
        "jax": jax.__version__,
        "numpy": np.__version__,
        "ldpc": _ldpc_version(),
        "backend": jax.default_backend(),
        "cpu_count": os.cpu_count(),
        "cores_used": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "processor": platform.processor() or platform.machine(),
        "load_average_1min_before": load_before,
        "load_average_1min_after": os.getloadavg()[0],
    }
    setting = {
        "code": code.name,
        "n": code.n,
        "k": code.k,
        "channel": f"BSC(p={args.p})",
        "max_iters": args.max_iters,
        "min_sum_alpha": args.alpha,
        "schedule": "flooding",
        "check_layout": args.stacked,
        "rounds": args.rounds,
        "words": words,
        "single_words": len(singles),
    }
    return {"environment": env, "setting": setting, "rows": rows}


def _ldpc_version() -> str | None:
    try:
        from importlib.metadata import version

        return version("ldpc")
    except Exception:
        return None


def print_table(result: dict[str, Any]) -> None:
    s = result["setting"]
    print(f"Environment: {result['environment']}")
    print(
        f"\n{s['code']} (k={s['k']}), {s['channel']}, flooding ({s['check_layout']} layout), max {s['max_iters']} "
        "iterations, "
        f"min-sum alpha {s['min_sum_alpha']}; medians of {s['rounds']} interleaved rounds"
    )
    head = (
        f"{'algorithm':<12}{'decoder':<34}{'batch':>6}{'codewords/s':>13}{'coded Mb/s':>11}{'JAX/C++':>9}"
        f"{'iter mean':>10}{'iter max':>9}{'BLER':>8}{'same as C++':>12}{'(C++ conv.)':>12}"
    )
    print(head)
    print("-" * len(head))
    for r in result["rows"]:
        ratio = f"{r['ratio_vs_cpp']:.2f}" if r["ratio_vs_cpp"] is not None else "-"
        print(
            f"{r['algorithm']:<12}{r['decoder']:<34}{r['batch_size']:>6}{r['codewords_per_s']:>13.0f}"
            f"{r['coded_mbit_per_s']:>11.2f}{ratio:>9}{r['mean_iterations']:>10.2f}{r['max_iterations']:>9d}"
            f"{r['bler']:>8.4f}"
            + (f"{r['agreement_vs_cpp']:>12.4f}" if r["agreement_vs_cpp"] is not None else f"{'-':>12}")
            + (
                f"{r['agreement_vs_cpp_converged']:>12.4f}"
                if r["agreement_vs_cpp_converged"] is not None
                else f"{'-':>12}"
            )
        )


def main() -> None:
    result = run(ARGS)
    print_table(result)
    if ARGS.json:
        with open(ARGS.json, "w") as fh:
            json.dump(result, fh, indent=2)
        print(f"\nwrote {ARGS.json}")


if __name__ == "__main__":
    if ARGS is None:
        sys.exit(1)
    main()
