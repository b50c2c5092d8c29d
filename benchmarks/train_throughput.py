"""Training throughput of the NECST Binary-MNIST step (784-500-100 / 100-500-500-784 MLP, batch 100, K=5, VIMCO).

Measures, in one run on the same machine:
  (a) one jitted step per Python call (state donated),
  (b) S steps per host call with ``lax.scan`` on device-resident batches (what ``train.py`` runs),
  the model FLOP utilisation of each against a float32 matmul peak measured here,
  and, when PyTorch is installed, a plain eager PyTorch implementation of the same step (same network, same VIMCO
  surrogate, Adam) with ``torch.set_num_threads`` = the number of cores.

Usage:  python benchmarks/train_throughput.py [--steps 600] [--scan 100] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402

from experiments.necst import binary_mnist  # noqa: E402
from neuralcodes_jax.methods import necst  # noqa: E402

BATCH, K, M, D, HIDDEN = 100, 5, 100, 784, 500


def analytic_flops_per_example() -> float:
    """Dense-layer FLOPs of forward + backward (x3 of forward) per example."""
    enc = D * HIDDEN + HIDDEN * M
    dec = M * HIDDEN + HIDDEN * HIDDEN + HIDDEN * D
    forward_macs = enc + K * dec
    return 3 * 2 * forward_macs


def best_rate(fn, repeats: int) -> float:
    """Best (min-time) rate over repeats: fn() returns the number of units of work done."""
    best = 0.0
    for _ in range(repeats):
        t0 = time.perf_counter()
        n = fn()
        dt = time.perf_counter() - t0
        best = max(best, n / dt)
    return best


def matmul_peak(n: int = 1024, iters: int = 20, repeats: int = 5) -> float:
    a = jax.random.normal(jax.random.key(0), (n, n), jnp.float32)
    b = jax.random.normal(jax.random.key(1), (n, n), jnp.float32)

    @jax.jit
    def chain(a, b):
        def body(c, _):
            return (c @ b) * 1e-3, None
        return jax.lax.scan(body, a, None, length=iters)[0]

    chain(a, b).block_until_ready()

    def run():
        chain(a, b).block_until_ready()
        return 2.0 * n ** 3 * iters

    return best_rate(run, repeats)


def build_method():
    config = binary_mnist.get_config()
    return necst.build(config, (28, 28, 1), is_binary=True)


def jax_rates(steps: int, scan: int, repeats: int) -> dict:
    method = build_method()
    rng = np.random.default_rng(0)
    data = jnp.asarray((rng.random((scan, BATCH, 28, 28, 1)) < 0.13).astype(np.float32))
    state = jax.jit(method.init)(jax.random.key(0), data[0])
    train_key = jax.random.key(1)

    step_fn = jax.jit(lambda s, x: method.train_step(s, x, jax.random.fold_in(train_key, s["step"])),
                      donate_argnums=(0,))

    def chunk(state, xs):
        def body(s, x):
            return method.train_step(s, x, jax.random.fold_in(train_key, s["step"]))
        return jax.lax.scan(body, state, xs)

    chunk_fn = jax.jit(chunk, donate_argnums=(0,))
    holder = {"state": state}

    # warm-up / compile
    holder["state"], _ = step_fn(holder["state"], data[0])
    holder["state"], _ = chunk_fn(holder["state"], data)
    jax.block_until_ready(holder["state"])

    def run_single():
        s = holder["state"]
        for i in range(steps):
            s, metrics = step_fn(s, data[i % scan])
        jax.block_until_ready(s)
        holder["state"] = s
        return steps * BATCH

    def run_scan():
        s = holder["state"]
        for _ in range(max(1, steps // scan)):
            s, metrics = chunk_fn(s, data)
        jax.block_until_ready(s)
        holder["state"] = s
        return max(1, steps // scan) * scan * BATCH

    single = best_rate(run_single, repeats)
    scanned = best_rate(run_scan, repeats)
    xla_flops = None
    try:
        cost = step_fn.lower(holder["state"], data[0]).compile().cost_analysis()
        cost = cost[0] if isinstance(cost, (list, tuple)) else cost
        xla_flops = float(cost.get("flops")) / BATCH if cost and cost.get("flops") else None
    except Exception:  # cost analysis is backend dependent
        pass
    return {"single_step_examples_per_s": single, "scan_examples_per_s": scanned, "xla_flops_per_example": xla_flops}


def torch_rate(steps: int, repeats: int) -> float | None:
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(os.cpu_count() or 1)
    torch.manual_seed(0)
    nn = torch.nn

    def linear(i, o, bias):
        layer = nn.Linear(i, o, bias=bias)
        nn.init.xavier_uniform_(layer.weight)
        if bias:
            nn.init.zeros_(layer.bias)
        return layer

    enc = nn.Sequential(linear(D, HIDDEN, True), nn.LeakyReLU(0.2), linear(HIDDEN, M, False))
    dec = nn.Sequential(linear(M, HIDDEN, False), nn.LeakyReLU(0.2), linear(HIDDEN, HIDDEN, False),
                        nn.LeakyReLU(0.2), linear(HIDDEN, D, False))
    params = list(enc.parameters()) + list(dec.parameters())
    opt = torch.optim.Adam(params, lr=1e-3)
    eps = 0.1
    rng = np.random.default_rng(0)
    data = torch.from_numpy((rng.random((16, BATCH, D)) < 0.13).astype(np.float32))

    def step(x):
        logits = enc(x)
        p = torch.sigmoid(logits)
        q = p * (1 - 2 * eps) + eps
        y = torch.bernoulli(q.detach().expand(K, -1, -1))
        log_q = (y * torch.log(q) + (1 - y) * torch.log1p(-q)).sum(-1)            # [K, B]
        out = dec(y)
        log_lik = -nn.functional.binary_cross_entropy_with_logits(
            out, x.expand(K, -1, -1), reduction="none").sum(-1)                     # [K, B]
        f = log_lik
        lme = torch.logsumexp(f, 0) - np.log(K)
        mean_others = (f.sum(0, keepdim=True) - f) / (K - 1)
        f_loo = f.unsqueeze(0).expand(K, K, -1).clone()
        idx = torch.arange(K)
        f_loo[idx, idx] = mean_others
        lme_loo = torch.logsumexp(f_loo, 1) - np.log(K)                             # [K, B]
        adv = (lme.unsqueeze(0) - lme_loo).detach()
        surrogate = lme + (adv * log_q).sum(0)
        l2 = 1e-4 * 0.5 * sum((w ** 2).sum() for n, w in enc.named_parameters() if "weight" in n)
        loss = -surrogate.mean() + l2
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    for i in range(3):
        step(data[i])

    def run():
        for i in range(steps):
            step(data[i % 16])
        return steps * BATCH

    return best_rate(run, repeats)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=600, help="training steps per timed repeat")
    parser.add_argument("--scan", type=int, default=100, help="steps per host call for (b)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", default="", help="write the results to this JSON file")
    parser.add_argument("--no-torch", action="store_true")
    args = parser.parse_args()

    peak = matmul_peak()
    flops = analytic_flops_per_example()
    res = jax_rates(args.steps, args.scan, args.repeats)
    torch_eps = None if args.no_torch else torch_rate(min(args.steps, 300), args.repeats)

    rows = [
        ("(a) JAX, 1 jitted step / call", res["single_step_examples_per_s"]),
        ("(b) JAX, lax.scan on device", res["scan_examples_per_s"]),
    ]
    if torch_eps is not None:
        rows.append(("PyTorch eager", torch_eps))
    print(f"JAX {jax.__version__} on {jax.devices()[0].platform} ({os.cpu_count()} cores), batch {BATCH}, K={K}")
    print(f"analytic model FLOPs/example: {flops / 1e6:.2f} M; XLA cost analysis: "
          f"{(res['xla_flops_per_example'] or float('nan')) / 1e6:.2f} M; matmul peak {peak / 1e9:.1f} GFLOP/s")
    print(f"{'variant':34s} {'examples/s':>12s} {'MFU':>7s} {'vs torch':>9s}")
    for name, rate in rows:
        mfu = rate * flops / peak
        ratio = f"{rate / torch_eps:.2f}x" if torch_eps else "-"
        print(f"{name:34s} {rate:12.0f} {mfu:7.1%} {ratio:>9s}")
    out = {
        "jax_version": jax.__version__,
        "platform": platform.platform(),
        "cores": os.cpu_count(),
        "batch": BATCH, "K": K, "bits": M,
        "analytic_flops_per_example": flops,
        "xla_flops_per_example": res["xla_flops_per_example"],
        "matmul_peak_flops": peak,
        "single_step_examples_per_s": res["single_step_examples_per_s"],
        "scan_examples_per_s": res["scan_examples_per_s"],
        "torch_eager_examples_per_s": torch_eps,
        "scan_mfu": res["scan_examples_per_s"] * flops / peak,
        "scan_vs_torch": (res["scan_examples_per_s"] / torch_eps) if torch_eps else None,
    }
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=2)
    return out


if __name__ == "__main__":
    main()
