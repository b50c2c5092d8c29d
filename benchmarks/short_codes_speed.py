"""Short-code encoders and decoders of ``neuralcodes_jax.codes`` against Sionna 2.x (PyTorch, CPU), on the same LLRs.

For every pair below, both libraries build the same code; random messages are encoded with OUR encoder (Sionna's
encoder is run on the same messages and its codewords are compared), sent as BPSK (0 -> +1) over AWGN at
``--ebno`` dB (``sigma^2 = 1 / (2 R Eb/N0)``, ``R = k/n``), and the same channel LLRs go to both decoders:

=====================  ==========================================  ===============================================
pair                   ours                                        Sionna 2.0
=====================  ==========================================  ===============================================
polar SC / SCL-8/32    ``codes.polar`` ``sc_decode``/``scl_decode``  ``Polar5GEncoder(64, 128)`` (uplink, CRC11) and
                       on ``polar5g:128,64,crc11``, CRC-aided SCL  ``Polar5GDecoder`` ``'SC'`` / ``'SCL'`` (list 8/32)
5G LDPC BP             ``ldpc5g.nr_ldpc(64, 128).decode``, sum-    ``LDPC5GEncoder(64, 128)``, ``LDPC5GDecoder``
                       product, 20 iterations, flooding / layered  (boxplus-phi, 20 iterations, same schedule)
OSD-1 / OSD-2          ``osd.osd_decode`` on eBCH(128,64)          ``OSDecoder(G, t)`` with the same generator ``G``
5G encoders            ``polar_encode``, ``NrLdpcCode.encode``     ``Polar5GEncoder``, ``LDPC5GEncoder``
=====================  ==========================================  ===============================================

Boundary conversions (not timed): Sionna's decoders take logits ``log P(1)/P(0)`` (its docstrings, and the
``20 * (2c - 1)`` examples), ours ``log P(0)/P(1)``: Sionna gets ``-L``. Sionna's 5G polar uplink codeword is the
mother codeword through its sub-block and channel interleavers (TS 38.212 sec. 5.4.1.1, 5.4.1.3); at ``E = N = 128``
the rate matching is a permutation ``idx`` (no puncturing, shortening or repetition), so Sionna gets
``-L[:, idx]`` and its codeword is compared with ours at ``idx``. The frozen sets (5G sequence, 75 information
channels) and CRC11 placement (message then CRC, uplink: no input interleaver) are checked to be the same.

Timing: ours is jit-compiled and warm (every shape compiled before timing, the public API called with NumPy input
and its result fetched to NumPy); Sionna runs eagerly (its default) under ``torch.inference_mode``, called once at
each shape before timing. Torch runs on ``--torch-threads`` threads (default 1; 0 keeps torch's default, one per
core): on a shared, oversubscribed machine torch's intra-op threads wait on each other and made Sionna about 10x
slower with 2 threads than with 1 here, while XLA:CPU's speed did not depend on its thread settings.
``--sionna-compile`` runs the named Sionna decoders under ``torch.compile`` (one graph per batch shape, compiled
in the warm-up, which takes minutes with torch's cache cold), as Sionna's OSD docstring recommends.
At batch 1, one sample is as many single-word calls as fit in ``--sample-seconds`` (at least one); at batch
``--batch`` (1000), one call. Samples of the two libraries alternate, ``--repeats`` of each (fewer at the large
batch when a pair has used ``--budget`` seconds; the table gives the count), and the table reports medians. The
first large-batch call of each side also gives the decisions on the ``--batch`` words: agreement is the fraction
of words where both decide the same message (the same codeword for OSD), with each side's BLER and its
Clopper-Pearson 95% interval on the same words.

Usage (a separate environment with torch and sionna; both are benchmark-only, never imported by the package):
  python benchmarks/short_codes_speed.py [--ebno 2.0] [--batch 1000] [--repeats 5] [--budget 60]
      [--torch-threads 1] [--only polar,ldpc,osd,enc] [--sionna-compile osd] [--json out.json]
  python benchmarks/short_codes_speed.py --breakdown [--json out.json]     # where the time goes (sub-parts)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import jax
import jax.numpy as jnp

from neuralcodes_jax.codes import catalog, ldpc5g, osd, polar
from neuralcodes_jax.codes.exact import clopper_pearson_interval

GROUPS = ("polar", "ldpc", "osd", "enc")


def _cpu_model() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                return line.split(":", 1)[1].strip()
    except (OSError, subprocess.CalledProcessError):
        pass
    return platform.processor() or "unknown"


def _noisy_llrs(codewords: np.ndarray, rate: float, ebno_db: float, rng: np.random.Generator) -> np.ndarray:
    """BPSK (0 -> +1) over AWGN at Eb/N0 (dB): ``L = 2 y / sigma^2`` (log P(0)/P(1)), float32."""
    sigma2 = 1.0 / (2.0 * rate * 10.0 ** (ebno_db / 10.0))
    y = (1.0 - 2.0 * codewords.astype(np.float64)) + rng.normal(0.0, np.sqrt(sigma2), codewords.shape)
    return (2.0 * y / sigma2).astype(np.float32)


class Pair:
    """One comparison: ``ours(x) -> np.ndarray`` and ``sionna(x) -> np.ndarray`` on prepared inputs, decisions of
    kind ``what`` ('message', 'codeword')."""

    def __init__(
        self,
        name: str,
        group: str,
        what: str,
        ours: Callable[[Any], np.ndarray],
        sionna: Callable[[Any], np.ndarray],
        ours_in: np.ndarray,
        sionna_in: Any,
        truth: np.ndarray,
        note: str = "",
        ours_stats: Callable[[Any], dict] | None = None,
    ):
        self.name, self.group, self.what, self.note = name, group, what, note
        self.ours, self.sionna = ours, sionna
        self.ours_in, self.sionna_in, self.truth = ours_in, sionna_in, truth
        self.ours_stats = ours_stats


def _time_call(fn: Callable[[Any], np.ndarray], x: Any) -> tuple[float, np.ndarray]:
    start = time.perf_counter()
    out = fn(x)
    return time.perf_counter() - start, out


def _rate_batch1(fn: Callable[[Any], np.ndarray], inputs: Any, sample_seconds: float, offset: int) -> float:
    """Words/s of single-word calls over consecutive words, for about ``sample_seconds`` (at least one call)."""
    count, start = 0, time.perf_counter()
    n = len(inputs)
    while True:
        i = (offset + count) % n
        fn(inputs[i : i + 1])
        count += 1
        elapsed = time.perf_counter() - start
        if elapsed >= sample_seconds:
            return count / elapsed


def run_pair(
    pair: Pair, batch: int, repeats: int, budget: float, sample_seconds: float, log: Callable[[str], None]
) -> dict[str, Any]:
    # Warm-up: compile ours at both shapes; one eager call of Sionna at each shape.
    for b in (1, batch):
        pair.ours(pair.ours_in[:b])
        pair.sionna(pair.sionna_in[:b])
    r1_ours, r1_sionna = [], []
    for rep in range(repeats):
        r1_ours.append(_rate_batch1(pair.ours, pair.ours_in, sample_seconds, rep * 97))
        r1_sionna.append(_rate_batch1(pair.sionna, pair.sionna_in, sample_seconds, rep * 97))
    xo, xs = pair.ours_in[:batch], pair.sionna_in[:batch]
    tb_ours, tb_sionna = [], []
    dec_ours = dec_sionna = None
    spent = 0.0
    for rep in range(repeats):
        t, out = _time_call(pair.ours, xo)
        tb_ours.append(t)
        dec_ours = out if dec_ours is None else dec_ours
        t2, out2 = _time_call(pair.sionna, xs)
        tb_sionna.append(t2)
        dec_sionna = out2 if dec_sionna is None else dec_sionna
        spent += t + t2
        if spent > budget and rep + 1 < repeats:
            break
    truth = pair.truth[:batch]
    ours_err = np.any(dec_ours != truth, axis=1)
    sionna_err = np.any(dec_sionna != truth, axis=1)
    same = np.all(dec_ours == dec_sionna, axis=1)
    res = {
        "pair": pair.name,
        "group": pair.group,
        "decisions": pair.what,
        "note": pair.note,
        "batch1": {
            "ours_cw_per_s": statistics.median(r1_ours),
            "sionna_cw_per_s": statistics.median(r1_sionna),
            "samples": len(r1_ours),
            "ours_all": r1_ours,
            "sionna_all": r1_sionna,
        },
        "batchN": {
            "batch": batch,
            "ours_cw_per_s": batch / statistics.median(tb_ours),
            "sionna_cw_per_s": batch / statistics.median(tb_sionna),
            "samples": len(tb_ours),
            "ours_seconds": tb_ours,
            "sionna_seconds": tb_sionna,
        },
        "words": int(batch),
        "agree": float(same.mean()),
        "agree_count": int(same.sum()),
        "ours_block_errors": int(ours_err.sum()),
        "sionna_block_errors": int(sionna_err.sum()),
        "ours_bler_ci": clopper_pearson_interval(int(ours_err.sum()), batch),
        "sionna_bler_ci": clopper_pearson_interval(int(sionna_err.sum()), batch),
        "both_wrong_differently": int(np.sum(ours_err & sionna_err & ~same)),
    }
    if pair.ours_stats is not None:
        res["ours_stats"] = pair.ours_stats(xo)
    for key in ("batch1", "batchN"):
        res[key]["ratio"] = res[key]["ours_cw_per_s"] / res[key]["sionna_cw_per_s"]
    log(
        f"{pair.name}: batch 1 {res['batch1']['ours_cw_per_s']:.0f} vs {res['batch1']['sionna_cw_per_s']:.0f} cw/s, "
        f"batch {batch} {res['batchN']['ours_cw_per_s']:.0f} vs {res['batchN']['sionna_cw_per_s']:.0f} cw/s "
        f"({len(tb_ours)} samples), agree {res['agree']:.4f}, errors {res['ours_block_errors']} / "
        f"{res['sionna_block_errors']}"
    )
    return res


def _overheads(
    fn_api: Callable[[Any], np.ndarray], fn_core: Callable[[Any], Any], x_np: np.ndarray, repeats: int = 50
) -> dict[str, float]:
    """Median seconds per batch-1 call of the public API (NumPy in, NumPy out) and of the jitted core on a device
    array (result awaited): the difference is the Python-side cost of the call (checks, transfers, dispatch)."""
    xd = jnp.asarray(x_np[:1])
    fn_api(x_np[:1])
    jax.block_until_ready(fn_core(xd))
    api, core = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn_api(x_np[:1])
        api.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        jax.block_until_ready(fn_core(xd))
        core.append(time.perf_counter() - t0)
    return {"api_us": 1e6 * statistics.median(api), "jit_core_us": 1e6 * statistics.median(core)}


def build_pairs(
    groups: list[str], ebno: float, words: int, seed: int, osd_code: str, compiled: tuple[str, ...] = ()
) -> tuple[list[Pair], dict]:
    import torch
    from sionna.phy.fec.ldpc import LDPC5GDecoder, LDPC5GEncoder
    from sionna.phy.fec.linear import OSDecoder
    from sionna.phy.fec.polar import Polar5GDecoder, Polar5GEncoder

    def t_np(fn: Callable[[Any], Any], group: str = "") -> Callable[[Any], np.ndarray]:
        if group in compiled:  # torch.compile (inductor), one graph per batch shape
            fn = torch.compile(fn, dynamic=False)
        return lambda x: fn(x).numpy().astype(np.uint8)

    rng = np.random.default_rng(seed)
    pairs: list[Pair] = []
    checks: dict[str, Any] = {}
    overheads: dict[str, Any] = {}

    if "polar" in groups or "enc" in groups:
        code = catalog.make_code("polar5g:128,64,crc11").obj
        enc_s = Polar5GEncoder(code.k, code.n, channel_type="uplink")
        idx = np.asarray(enc_s._ind_rate_matching, dtype=np.int64)
        assert sorted(idx.tolist()) == list(range(code.n)), "rate matching is not a permutation at E = N"
        u = rng.integers(0, 2, (words, code.k)).astype(np.uint8)
        c = np.asarray(polar.polar_encode(code, u))
        u_t = torch.from_numpy(u.astype(np.float32))
        cs = enc_s(u_t).numpy().astype(np.uint8)
        checks["polar"] = {
            "frozen_positions_equal": bool(
                np.array_equal(np.sort(np.asarray(enc_s.frozen_pos)), code.frozen_positions)
            ),
            "crc": enc_s.enc_crc.crc_degree,
            "n_polar": int(enc_s.n_polar),
            "k_polar": int(enc_s.k_polar),
            "codewords_equal_at_rate_matching_permutation": bool(np.array_equal(cs, c[:, idx])),
            "rate_matching_is_identity": bool(np.array_equal(idx, np.arange(code.n))),
        }
        llr = _noisy_llrs(c, code.k / code.n, ebno, rng)
        llr_s = torch.from_numpy(np.ascontiguousarray(-llr[:, idx]))
        if "polar" in groups:
            dec_sc = Polar5GDecoder(enc_s, "SC")
            pairs.append(
                Pair(
                    "polar(128,64)+CRC11 SC",
                    "polar",
                    "message",
                    lambda x: np.asarray(polar.sc_decode(code, x).message),
                    t_np(dec_sc, "polar"),
                    llr,
                    llr_s,
                    u,
                    note="CRC unused by SC in both",
                )
            )
            for size in (8, 32):
                dec = Polar5GDecoder(enc_s, "SCL", list_size=size)
                pairs.append(
                    Pair(
                        f"polar(128,64)+CRC11 SCL-{size}",
                        "polar",
                        "message",
                        lambda x, s=size: np.asarray(polar.scl_decode(code, x, s).message),
                        t_np(dec, "polar"),
                        llr,
                        llr_s,
                        u,
                        note="CRC-aided selection in both",
                    )
                )
            overheads["polar SC"] = _overheads(
                lambda x: np.asarray(polar.sc_decode(code, x).message), lambda x: polar._sc_jit(code, x, True), llr
            )
            overheads["polar SCL-8"] = _overheads(
                lambda x: np.asarray(polar.scl_decode(code, x, 8).message),
                lambda x: polar._scl_jit(code, x, 8, True, True),
                llr,
            )
        if "enc" in groups:
            pairs.append(
                Pair(
                    "polar5g(128,64)+CRC11 encoder",
                    "enc",
                    "codeword",
                    lambda x: np.asarray(polar.polar_encode(code, x))[:, idx],
                    t_np(enc_s),
                    u,
                    u_t,
                    cs,
                    note="ours permuted to Sionna's uplink order (not timed part of Sionna's output)",
                )
            )

    if "ldpc" in groups or "enc" in groups:
        lc = ldpc5g.nr_ldpc(64, 128)
        enc_l = LDPC5GEncoder(lc.k, lc.n)
        u = rng.integers(0, 2, (words, lc.k)).astype(np.uint8)
        c = np.asarray(lc.encode(u))
        u_t = torch.from_numpy(u.astype(np.float32))
        cl = enc_l(u_t).numpy().astype(np.uint8)
        checks["ldpc"] = {"z": int(enc_l.z), "ours_z": lc.z, "codewords_equal": bool(np.array_equal(cl, c))}
        llr = _noisy_llrs(c, lc.k / lc.n, ebno, rng)
        llr_s = torch.from_numpy(np.ascontiguousarray(-llr))
        if "ldpc" in groups:
            for schedule in ("flooding", "layered"):
                dec = LDPC5GDecoder(enc_l, num_iter=20, cn_schedule=schedule)

                def ours(x, s=schedule):
                    return np.asarray(lc.decode(x, schedule=s, max_iters=20).message)

                def stats(x, s=schedule):
                    r = lc.decode(x, schedule=s, max_iters=20)
                    return {"mean_iterations": float(np.mean(np.asarray(r.iterations)))}

                pairs.append(
                    Pair(
                        f"LDPC5G(128,64) BP-20 {schedule}",
                        "ldpc",
                        "message",
                        ours,
                        t_np(dec, "ldpc"),
                        llr,
                        llr_s,
                        u,
                        ours_stats=stats,
                        note="ours stops each word once H x = 0; Sionna runs all 20 iterations",
                    )
                )
        if "enc" in groups:
            pairs.append(
                Pair(
                    "LDPC5G(128,64) encoder",
                    "enc",
                    "codeword",
                    lambda x: np.asarray(lc.encode(x)),
                    t_np(enc_l),
                    u,
                    u_t,
                    cl,
                )
            )

    if "osd" in groups:
        lin = catalog.make_code(osd_code).obj
        g = np.asarray(lin.generator, dtype=np.uint8)
        u = rng.integers(0, 2, (words, lin.k)).astype(np.uint8)
        c = np.asarray(lin.encode(u)).astype(np.uint8)
        llr = _noisy_llrs(c, lin.k / lin.n, ebno, rng)
        llr_s = torch.from_numpy(np.ascontiguousarray(-llr))
        for order in (1, 2):
            dec = OSDecoder(g.astype(np.float32), t=order)
            pairs.append(
                Pair(
                    f"{osd_code} OSD-{order}",
                    "osd",
                    "codeword",
                    lambda x, o=order: np.asarray(osd.osd_decode(lin, x, order=o).codewords),
                    t_np(dec, "osd"),
                    llr,
                    llr_s,
                    c,
                    note="same generator matrix",
                )
            )
        overheads["OSD-2"] = _overheads(
            lambda x: np.asarray(osd.osd_decode(lin, x, order=2).codewords),
            lambda x: osd._osd_batch(x, jnp.asarray(g), 2, 1),
            llr,
        )
    return pairs, {"construction_checks": checks, "batch1_call_overheads": overheads}


def breakdown(batch: int, ebno: float, seed: int, osd_code: str, repeats: int) -> dict[str, Any]:
    """Where the time goes, by timing sub-parts at batch ``batch`` (medians of ``repeats`` calls, seconds):
    OSD of order 0 (sort, elimination, re-encoding only) to 2 (ours); BP with 1 and 20 iterations and the
    iterations actually run (ours, early stopping), ours on pure noise (every word runs all 20), and 1 and 20
    iterations of Sionna (no early stopping); SC against SCL-8 and SCL-32 (ours, the list's cost). LLRs are built
    as in the main run (another seed)."""
    import torch
    from sionna.phy.fec.ldpc import LDPC5GDecoder, LDPC5GEncoder

    def med(fn: Callable[[], Any]) -> float:
        fn()
        ts = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            fn()
            ts.append(time.perf_counter() - t0)
        return statistics.median(ts)

    rng = np.random.default_rng(seed + 1)
    out: dict[str, Any] = {"batch": batch}
    lin = catalog.make_code(osd_code).obj
    u = rng.integers(0, 2, (batch, lin.k)).astype(np.uint8)
    llr = _noisy_llrs(np.asarray(lin.encode(u)).astype(np.uint8), lin.k / lin.n, ebno, rng)
    out["ours_osd_seconds"] = {
        o: med(lambda o=o: np.asarray(osd.osd_decode(lin, llr, order=o).codewords)) for o in (0, 1, 2)
    }
    lc = ldpc5g.nr_ldpc(64, 128)
    u = rng.integers(0, 2, (batch, lc.k)).astype(np.uint8)
    llr = _noisy_llrs(np.asarray(lc.encode(u)), lc.k / lc.n, ebno, rng)
    llr_s = torch.from_numpy(np.ascontiguousarray(-llr))
    noise = rng.normal(0.0, 2.0, llr.shape).astype(np.float32)
    enc_l = LDPC5GEncoder(lc.k, lc.n)
    for schedule in ("flooding", "layered"):
        dec = LDPC5GDecoder(enc_l, num_iter=20, cn_schedule=schedule)
        r = lc.decode(llr, schedule=schedule, max_iters=20)
        out[f"ldpc_{schedule}"] = {
            "ours_seconds": {
                it: med(lambda it=it, s=schedule: np.asarray(lc.decode(llr, schedule=s, max_iters=it).message))
                for it in (1, 20)
            },
            "ours_mean_iterations": float(np.mean(np.asarray(r.iterations))),
            "ours_max_iterations": int(np.max(np.asarray(r.iterations))),
            # Pure noise (no signal): no word satisfies H, so every word runs all 20 iterations, as Sionna's do.
            "ours_seconds_all_20_iterations": med(
                lambda s=schedule: np.asarray(lc.decode(noise, schedule=s, max_iters=20).message)
            ),
            "ours_mean_iterations_on_noise": float(
                np.mean(np.asarray(lc.decode(noise, schedule=schedule, max_iters=20).iterations))
            ),
            "sionna_seconds": {it: med(lambda it=it, d=dec: d(llr_s, num_iter=it)) for it in (1, 20)},
        }
    code = catalog.make_code("polar5g:128,64,crc11").obj
    u = rng.integers(0, 2, (batch, code.k)).astype(np.uint8)
    llr = _noisy_llrs(np.asarray(polar.polar_encode(code, u)), code.k / code.n, ebno, rng)
    out["ours_polar_seconds"] = {"SC": med(lambda: np.asarray(polar.sc_decode(code, llr).message))}
    for size in (8, 32):
        out["ours_polar_seconds"][f"SCL-{size}"] = med(
            lambda s=size: np.asarray(polar.scl_decode(code, llr, s).message)
        )
    return out


def _fmt_rate(x: float) -> str:
    return f"{x:,.0f}" if x >= 100 else f"{x:.3g}"


def markdown_table(results: list[dict], batch: int) -> str:
    head = [
        "pair",
        "ours b=1",
        "Sionna b=1",
        "ratio b=1",
        f"ours b={batch}",
        f"Sionna b={batch}",
        f"ratio b={batch}",
        "samples (b=1 / b=N)",
        "agree",
        "BLER ours [95% CI]",
        "BLER Sionna [95% CI]",
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in results:
        b1, bn = r["batch1"], r["batchN"]
        lo, hi = r["ours_bler_ci"]
        slo, shi = r["sionna_bler_ci"]
        bler = (
            f"{r['ours_block_errors'] / r['words']:.3g} [{lo:.3g}, {hi:.3g}]",
            f"{r['sionna_block_errors'] / r['words']:.3g} [{slo:.3g}, {shi:.3g}]",
        )
        if r["group"] == "enc":
            bler = ("-", "-")
        lines.append(
            "| "
            + " | ".join(
                [
                    r["pair"],
                    _fmt_rate(b1["ours_cw_per_s"]),
                    _fmt_rate(b1["sionna_cw_per_s"]),
                    f"{b1['ratio']:.2f}x",
                    _fmt_rate(bn["ours_cw_per_s"]),
                    _fmt_rate(bn["sionna_cw_per_s"]),
                    f"{bn['ratio']:.2f}x",
                    f"{b1['samples']} / {bn['samples']}",
                    f"{r['agree_count']}/{r['words']}",
                    *bler,
                ]
            )
            + " |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ebno", type=float, default=2.0, help="Eb/N0 in dB (default 2.0)")
    ap.add_argument("--batch", type=int, default=1000, help="large batch size, also the words compared (1000)")
    ap.add_argument("--repeats", type=int, default=5, help="timed samples per side and batch size (5)")
    ap.add_argument(
        "--budget",
        type=float,
        default=60.0,
        help="seconds per pair after which no more large-batch samples are drawn (60)",
    )
    ap.add_argument("--sample-seconds", type=float, default=0.3, help="length of one batch-1 sample (0.3 s)")
    ap.add_argument("--only", default=",".join(GROUPS), help=f"comma-separated subset of {GROUPS}")
    ap.add_argument("--osd-code", default="ebch:128,64", help="code for the OSD pair (catalog name)")
    ap.add_argument("--torch-threads", type=int, default=1, help="torch intra-op threads (1; 0: torch's default)")
    ap.add_argument(
        "--sionna-compile",
        default="",
        help="comma-separated decoder groups (polar, ldpc, osd) whose Sionna block runs under "
        "torch.compile (default none: eager)",
    )
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--breakdown",
        action="store_true",
        help="instead of the table, time sub-parts (OSD orders, BP iterations, list sizes)",
    )
    ap.add_argument("--json", default=None, help="write the results here")
    args = ap.parse_args(argv)
    groups = [g.strip() for g in args.only.split(",") if g.strip()]
    bad = [g for g in groups if g not in GROUPS]
    if bad or not groups:
        raise ValueError(f"--only must name some of {GROUPS}, got {args.only!r}")
    if args.batch < 8:
        raise ValueError(f"--batch must be >= 8, got {args.batch}")
    if args.repeats < 1:
        raise ValueError(f"--repeats must be >= 1, got {args.repeats}")

    import sionna
    import torch

    torch.set_grad_enabled(False)
    if args.torch_threads < 0:
        raise ValueError(f"--torch-threads must be >= 0, got {args.torch_threads}")
    if args.torch_threads:
        torch.set_num_threads(args.torch_threads)
    machine = {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "load_before": list(os.getloadavg()),
        "python": platform.python_version(),
        "jax": jax.__version__,
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "sionna": sionna.__version__,
        "jax_devices": [str(d) for d in jax.devices()],
    }
    print(f"# {machine}", flush=True)
    t_start = time.time()
    if args.breakdown:
        with torch.inference_mode():
            out = breakdown(args.batch, args.ebno, args.seed, args.osd_code, args.repeats)
        machine["load_after"] = list(os.getloadavg())
        print(json.dumps(out, indent=1))
        if args.json:
            with open(args.json, "w") as f:
                json.dump({"args": vars(args), "machine": machine, "breakdown": out}, f, indent=1)
        return 0
    compiled = tuple(g.strip() for g in args.sionna_compile.split(",") if g.strip())
    if any(g not in ("polar", "ldpc", "osd") for g in compiled):
        raise ValueError(f"--sionna-compile must name some of ('polar', 'ldpc', 'osd'), got {args.sionna_compile!r}")
    machine["sionna_compiled"] = list(compiled)
    pairs, info = build_pairs(groups, args.ebno, args.batch, args.seed, args.osd_code, compiled)
    print(f"# construction checks: {info['construction_checks']}", flush=True)
    results = []
    with torch.inference_mode():
        for pair in pairs:
            results.append(
                run_pair(
                    pair, args.batch, args.repeats, args.budget, args.sample_seconds, lambda s: print(s, flush=True)
                )
            )
    machine["load_after"] = list(os.getloadavg())
    machine["seconds"] = time.time() - t_start
    table = markdown_table(results, args.batch)
    print()
    print(
        f"Codewords/s (medians), Eb/N0 = {args.ebno:g} dB, ratio = ours / Sionna; "
        f"{machine['cpu']}, {machine['cores']} cores, load {machine['load_before'][0]:.1f} -> "
        f"{machine['load_after'][0]:.1f}, total {machine['seconds']:.0f} s"
    )
    print(table)
    for r in results:
        if "ours_stats" in r:
            print(f"# {r['pair']}: ours {r['ours_stats']}")
    print(f"# batch-1 call overheads (us): {info['batch1_call_overheads']}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"args": vars(args), "machine": machine, **info, "results": results}, f, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
