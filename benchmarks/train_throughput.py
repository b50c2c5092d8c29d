"""Training throughput of the NECST Binary-MNIST step (784-500-100 / 100-500-500-784 MLP, batch 100, K=5, VIMCO).

Measures, in one run on the same machine, with the repeats of all variants interleaved (round robin, best of N,
so that a changing background load hits every variant alike):
  (a) one jitted step per Python call (state donated),
  (b) S steps per host call with ``lax.scan`` on device-resident batches (what ``train.py`` runs),
  the model FLOP utilisation of each against a float32 matmul peak measured here (1024^3 matmuls),
  and, when PyTorch is installed, a plain eager PyTorch implementation of the same step (same network, same VIMCO
  surrogate, Adam) with ``torch.set_num_threads`` = the number of cores.
The ``cpu/wall`` column is the process CPU time over the wall time of the best repeat: about the number of cores
the variant kept busy (2 on an idle 2-core machine; near 1 when other jobs hold a core; spinning threads count).

``--breakdown`` also times ablations of the step, each inside its own jitted ``lax.scan`` over the same batches
(every result is used, so XLA cannot drop the work), and prints where a step's time goes:
  matmuls (the step's 13 dots, no elementwise work), the networks' elementwise work (activations, bias, layout
  copies), sampling + likelihood + VIMCO (forward and backward), the Adam update and the grad-norm metric.

ABF and IABF rows (``--methods necst,abf,iabf``, the default): the ABF and IABF steps of
``experiments/iabf/table1.py:binary_mnist,{abf,iabf}`` (the same networks, batch, K and VIMCO as NECST, noise 0.1)
in mode (b), and their examples/s as a ratio to the NECST step of the same run. ``--iabf_breakdown`` times the
pieces an IABF step adds to NECST's (each in its own jitted scan): the discriminator update, the reconstruction
gradient of Eq. 23, the water-filling of the flip budget, the whole flip noise, and the ABF and IABF steps.

``--loop`` also times the training loop itself (``train.train_and_evaluate``, a group of one run) on the same step,
between the end of its first epoch and its last (validation and an end-of-epoch checkpoint included);
``--loop_only`` times only that, which also runs against another checkout of the package (its ``PYTHONPATH``).

Usage:  python benchmarks/train_throughput.py [--steps 600] [--scan 100] [--repeats 3] [--breakdown] [--loop]
        [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import platform
import resource
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import jax
import jax.numpy as jnp
import optax

from experiments.iabf import table1
from experiments.necst import binary_mnist
from neuralcodes_jax import methods
from neuralcodes_jax.methods import iabf
from neuralcodes_jax.nets import mlp

BATCH, K, M, D, HIDDEN = 100, 5, 100, 784, 500


def analytic_flops_per_example() -> float:
    """Dense-layer FLOPs of forward + backward (x3 of forward) per example."""
    enc = D * HIDDEN + HIDDEN * M
    dec = M * HIDDEN + HIDDEN * HIDDEN + HIDDEN * D
    forward_macs = enc + K * dec
    return 3 * 2 * forward_macs


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def interleaved_best(fns: dict, repeats: int) -> dict:
    """Best (min-time) rate of each ``fn() -> units of work`` over ``repeats`` round-robin rounds.

    Returns ``{name: (units per second, cpu seconds / wall seconds of that best repeat)}``.
    """
    best = {name: (0.0, float("nan")) for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            c0, t0 = _cpu_seconds(), time.perf_counter()
            n = fn()
            dt, dc = time.perf_counter() - t0, _cpu_seconds() - c0
            if n / dt > best[name][0]:
                best[name] = (n / dt, dc / dt)
    return best


def matmul_peak_fn(n: int = 1024, iters: int = 20):
    """A timed callable: ``iters`` chained float32 [n, n] matmuls in one jitted scan; returns its FLOPs."""
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
        return 2.0 * n**3 * iters

    return run


METHODS = ("necst", "abf", "iabf")


def build_method(name: str = "necst"):
    """NECST (``experiments/necst/binary_mnist.py``) or ABF / IABF (``experiments/iabf/table1.py``), Binary MNIST
    shapes; the three share networks, batch, K and estimator."""
    spec = methods.DataSpec((28, 28, 1), True)
    if name == "necst":
        return methods.build(binary_mnist.get_config(), spec)
    if name not in METHODS:
        raise ValueError(f"--methods must name methods of {list(METHODS)}, got {name!r}")
    return methods.build(table1.get_config(f"binary_mnist,{name}"), spec)


def jax_fns(steps: int, scan: int, name: str = "necst") -> tuple[dict, float | None]:
    """Timed callables for (a) and (b) (each returns the number of examples it trained on) and XLA's FLOPs."""
    method = build_method(name)
    rng = np.random.default_rng(0)
    data = jnp.asarray((rng.random((scan, BATCH, 28, 28, 1)) < 0.13).astype(np.float32))
    state = jax.jit(method.init)(jax.random.key(0), data[0])
    train_key = jax.random.key(1)

    step_fn = jax.jit(
        lambda s, x: method.train_step(s, x, jax.random.fold_in(train_key, s["step"])), donate_argnums=(0,)
    )

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
            s, _metrics = step_fn(s, data[i % scan])
        jax.block_until_ready(s)
        holder["state"] = s
        return steps * BATCH

    def run_scan():
        s = holder["state"]
        for _ in range(max(1, steps // scan)):
            s, _metrics = chunk_fn(s, data)
        jax.block_until_ready(s)
        holder["state"] = s
        return max(1, steps // scan) * scan * BATCH

    xla_flops = None
    try:
        cost = step_fn.lower(holder["state"], data[0]).compile().cost_analysis()
        cost = cost[0] if isinstance(cost, (list, tuple)) else cost
        xla_flops = float(cost.get("flops")) / BATCH if cost and cost.get("flops") else None
    except Exception:  # cost analysis is backend dependent
        pass
    return {"single": run_single, "scan": run_scan}, xla_flops


def time_scans(variants: dict, data: jax.Array, train_key: jax.Array, repeats: int) -> dict:
    """Milliseconds per step (wall, and process CPU) of each ``name: (step(state, x, key), state0)``, run as its own
    jitted ``lax.scan`` over the batches ``data`` (keys folded from ``train_key`` and the state's step), interleaved
    (:func:`interleaved_best`)."""
    scan = data.shape[0]
    fns = {}
    for name, (body, s0) in variants.items():

        def chunk(state, xs, body=body):
            return jax.lax.scan(lambda s, x: body(s, x, jax.random.fold_in(train_key, s["step"])), state, xs)

        compiled = jax.jit(chunk)
        jax.block_until_ready(compiled(s0, data))

        def run(compiled=compiled, s0=s0):
            jax.block_until_ready(compiled(s0, data))
            return scan

        fns[name] = run
    rates = interleaved_best(fns, repeats)
    return {
        name: {"ms_per_step": 1e3 / rate, "cpu_ms_per_step": 1e3 * ratio / rate}
        for name, (rate, ratio) in rates.items()
    }


def breakdown(scan: int, repeats: int) -> dict:
    """Milliseconds per step (wall, and process CPU) of ablations of the training step, each in its own jitted scan.

    Every variant runs ``scan`` steps over the same batches with the parameters carried (and changed) from step to
    step, and returns per-step outputs, so nothing is loop-invariant or dead. Variants:
      full      ``method.train_step`` (Adam, all metrics), as (b);
      no_norm   the same without the grad-norm metric;
      sgd       loss gradients + a plain SGD update (no Adam, no grad norm);
      networks  encoder + decoder forward and backward + SGD on the same shapes (the decoder fed thresholded
                codes), without sampling, likelihood or estimator;
      dots      the same 13 matmuls with no activations, bias or likelihood (a linear network's fwd + bwd);
      forward   the loss and metrics only (no gradient).
    """
    method = build_method()
    rng = np.random.default_rng(0)
    data = jnp.asarray((rng.random((scan, BATCH, 28, 28, 1)) < 0.13).astype(np.float32))
    state0 = jax.jit(method.init)(jax.random.key(0), data[0])
    train_key = jax.random.key(1)

    def sgd(params, grads):
        return jax.tree.map(lambda p, g: p - 1e-4 * g, params, grads)

    def train_step_without_norm(state, x, key):
        (_, metrics), grads = jax.value_and_grad(method.loss, has_aux=True)(state["params"], x, key)
        updates, opt_state = method.optimizer.update(grads, state["opt_state"], state["params"])
        params = optax.apply_updates(state["params"], updates)
        return {"params": params, "opt_state": opt_state, "step": state["step"] + 1}, metrics

    def sgd_step(state, x, key):
        (_, metrics), grads = jax.value_and_grad(method.loss, has_aux=True)(state["params"], x, key)
        return {**state, "params": sgd(state["params"], grads), "step": state["step"] + 1}, metrics

    def networks_step(state, x, key):
        def loss(params):
            logits = method.encode(params, x)
            codes = jnp.broadcast_to((logits > 0).astype(jnp.float32), (K,) + logits.shape)
            out = method.decode_float(params, codes).reshape(K, BATCH, D)
            return jnp.mean(out * x.reshape(1, BATCH, D)) + jnp.mean(logits)

        value, grads = jax.value_and_grad(loss)(state["params"])
        return {**state, "params": sgd(state["params"], grads), "step": state["step"] + 1}, value

    def dense(a, layer):  # the contraction nn.Dense runs in nets.mlp, bias and activation left out
        return mlp.dense_dot_general(a, layer["kernel"], (((a.ndim - 1,), (0,)), ((), ())))

    def dots_step(state, x, key):
        def loss(params):
            enc, dec = params["encoder"], params["decoder"]
            logits = dense(dense(x.reshape(BATCH, D), enc["hidden_0"]), enc["logits"])
            codes = jnp.broadcast_to((logits > 0).astype(jnp.float32), (K,) + logits.shape)
            out = dense(dense(dense(codes, dec["hidden_0"]), dec["hidden_1"]), dec["outputs"])
            return jnp.mean(out * x.reshape(1, BATCH, D)) + jnp.mean(logits)

        value, grads = jax.value_and_grad(loss)(state["params"])
        return {**state, "params": sgd(state["params"], grads), "step": state["step"] + 1}, value

    def forward_step(state, x, key):
        _, metrics = method.loss(state["params"], x, key)
        return {**state, "step": state["step"] + 1}, metrics

    variants = {
        "full": method.train_step,
        "no_norm": train_step_without_norm,
        "sgd": sgd_step,
        "networks": networks_step,
        "dots": dots_step,
        "forward": forward_step,
    }
    out = time_scans({name: (body, state0) for name, body in variants.items()}, data, train_key, repeats)

    def diff(a, b, key):
        return out[a][key] - out[b][key]

    parts = [
        ("matmuls (13 dots)", lambda k: out["dots"][k]),
        ("networks' elementwise work (activations, bias, layout copies)", lambda k: diff("networks", "dots", k)),
        ("sampling + log q + likelihood + VIMCO + metrics (fwd and bwd)", lambda k: diff("sgd", "networks", k)),
        ("Adam update (minus an SGD update)", lambda k: diff("no_norm", "sgd", k)),
        ("grad-norm metric", lambda k: diff("full", "no_norm", k)),
    ]
    print(
        f"\nBreakdown of one training step (each variant in its own jitted lax.scan of {scan} steps, "
        f"best of {repeats}):"
    )
    print(f"{'variant':10s} {'ms/step':>8s} {'cpu ms/step':>12s}")
    for name, row in out.items():
        print(f"{name:10s} {row['ms_per_step']:8.2f} {row['cpu_ms_per_step']:12.2f}")
    print("(cpu ms/step: process CPU time, robust to other jobs; ms/step: wall time, what an idle machine gives)")
    print(
        f"{'component (by difference of variants; within noise when near 0)':64s} {'ms/step':>8s} "
        f"{'cpu ms':>8s} {'share':>6s}"
    )
    total = out["full"]["ms_per_step"]
    components = {}
    for name, fn in parts:
        ms, cpu = fn("ms_per_step"), fn("cpu_ms_per_step")
        components[name] = {"ms_per_step": ms, "cpu_ms_per_step": cpu}
        print(f"{name:64s} {ms:8.2f} {cpu:8.2f} {ms / total:6.1%}")
    print(
        f"{'forward only (loss and metrics, no gradient)':64s} {out['forward']['ms_per_step']:8.2f} "
        f"{out['forward']['cpu_ms_per_step']:8.2f}"
    )
    return {"variants": out, "components": components}


def iabf_breakdown(scan: int, repeats: int) -> dict:
    """Milliseconds per step of the pieces an IABF step adds to NECST's, each in its own jitted ``lax.scan`` of
    ``scan`` steps over the same batches (parameters carried and changed, outputs used). Variants:
      necst      NECST's step;
      disc       the TC discriminator's update on the clean codes (Algorithm 1, steps 5-8), alone;
      recon_grad the reconstruction gradient dL/dy at the clean codes (Eq. 23), alone;
      waterfill  the water-filling of the budget M eps over |dL/dy| (text after Eq. 30), alone;
      flip_noise the whole flip noise (recon_grad + waterfill + the Eq. 25 mask), alone;
      abf, iabf  the whole ABF and IABF steps.
    """
    necst_method, abf, full = build_method("necst"), build_method("abf"), build_method("iabf")
    rng = np.random.default_rng(0)
    data = jnp.asarray((rng.random((scan, BATCH, 28, 28, 1)) < 0.13).astype(np.float32))
    state0 = jax.jit(full.init)(jax.random.key(0), data[0])
    necst_state0 = {k: state0[k] for k in ("params", "opt_state", "step")}
    train_key = jax.random.key(1)

    def clean(state, x, key):
        logits = full.encode(state["params"], x)
        return full.clean_code(logits, jax.random.fold_in(key, 1))

    def next_step(state):  # the batches differ from step to step and every output is stacked by the scan,
        return {**state, "step": state["step"] + 1}  # so nothing is loop-invariant or dead

    def disc_step(state, x, key):
        dp, ds, m = full.discriminator_update(
            state["disc_params"], state["disc_opt_state"], clean(state, x, key), jax.random.fold_in(key, 2)
        )
        return {**state, "disc_params": dp, "disc_opt_state": ds, "step": state["step"] + 1}, m["disc_loss"]

    def recon_grad_step(state, x, key):
        g = full.reconstruction_gradient(state["params"], x, clean(state, x, key))
        return next_step(state), jnp.sum(g)

    def waterfill_step(state, x, key):
        g = x.reshape(BATCH, D)[:, :M] * jax.random.normal(key, (BATCH, M))
        e = iabf.waterfill_noise(jnp.abs(g), M * 0.1)
        return next_step(state), jnp.sum(e)

    def flip_step(state, x, key):
        e, _ = full.flip_noise(state["params"], x, clean(state, x, key), jax.random.fold_in(key, 3))
        return next_step(state), jnp.sum(e)

    variants = {
        "necst": (necst_method.train_step, necst_state0),
        "disc": (disc_step, state0),
        "recon_grad": (recon_grad_step, state0),
        "waterfill": (waterfill_step, state0),
        "flip_noise": (flip_step, state0),
        "abf": (abf.train_step, state0),
        "iabf": (full.train_step, state0),
    }
    out = time_scans(variants, data, train_key, repeats)
    print(f"\nPieces of the IABF step (each in its own jitted lax.scan of {scan} steps, best of {repeats}):")
    print(f"{'variant':12s} {'ms/step':>8s} {'cpu ms/step':>12s} {'/ NECST':>8s}")
    for name, row in out.items():
        print(
            f"{name:12s} {row['ms_per_step']:8.2f} {row['cpu_ms_per_step']:12.2f} "
            f"{row['ms_per_step'] / out['necst']['ms_per_step']:8.2f}"
        )
    return out


def torch_fn(steps: int):
    """A timed callable running ``steps`` eager PyTorch training steps (None without PyTorch)."""
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
    dec = nn.Sequential(
        linear(M, HIDDEN, False),
        nn.LeakyReLU(0.2),
        linear(HIDDEN, HIDDEN, False),
        nn.LeakyReLU(0.2),
        linear(HIDDEN, D, False),
    )
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
        log_q = (y * torch.log(q) + (1 - y) * torch.log1p(-q)).sum(-1)  # [K, B]
        out = dec(y)
        log_lik = -nn.functional.binary_cross_entropy_with_logits(out, x.expand(K, -1, -1), reduction="none").sum(
            -1
        )  # [K, B]
        f = log_lik
        lme = torch.logsumexp(f, 0) - np.log(K)
        mean_others = (f.sum(0, keepdim=True) - f) / (K - 1)
        f_loo = f.unsqueeze(0).expand(K, K, -1).clone()
        idx = torch.arange(K)
        f_loo[idx, idx] = mean_others
        lme_loo = torch.logsumexp(f_loo, 1) - np.log(K)  # [K, B]
        adv = (lme.unsqueeze(0) - lme_loo).detach()
        surrogate = lme + (adv * log_q).sum(0)
        l2 = 1e-4 * 0.5 * sum((w**2).sum() for n, w in enc.named_parameters() if "weight" in n)
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

    return run


def loop_throughput(epochs: int = 5, train_examples: int = 20000, workdir: str | None = None) -> dict:
    """Examples/s of the training loop itself, ``train.train_and_evaluate`` (a group of one run), on the same
    network and step as (b): 784 random bits, 100 code bits, batch 100, 100 steps per host call, an epoch of
    ``train_examples // 100`` steps with its validation and checkpoint. Measured from the metric rows' times
    between the end of epoch 1 (compilation is behind) and the last epoch end. Only ``train_and_evaluate`` and the
    random-bits config are used, so the same function times another checkout of the package."""
    import tempfile

    from experiments.necst import random_bits
    from neuralcodes_jax import train

    c = random_bits.get_config("smoke")
    overrides = {
        "data.input_dim": 784,
        "data.limit.train": train_examples,
        "data.limit.valid": 200,
        "data.limit.test": 200,
        "model.bits": M,
        "train.batch_size": BATCH,
        "train.steps_per_call": 100,
        "train.num_epochs": epochs,
        "train.log_every_steps": 100,
        "train.progress": False,
        "train.tensorboard": False,
        "eval.noise_levels": (0.1,),
        "eval.batch_size": 200,
    }
    for key, value in overrides.items():
        node = c
        *path, last = key.split(".")
        for part in path:
            node = node[part]
        node[last] = value
    workdir = workdir or tempfile.mkdtemp()
    t0 = time.time()
    train.train_and_evaluate(c, workdir)
    wall = time.time() - t0
    rows = [json.loads(line) for line in pathlib.Path(workdir, "metrics.jsonl").read_text().splitlines()]
    ends = [r for r in rows if "valid/loss" in r]
    first, last = ends[0], ends[-1]
    rate = (last["step"] - first["step"]) * BATCH / (last["time"] - first["time"])
    return {
        "loop_examples_per_s": rate,
        "loop_epochs": epochs,
        "loop_steps_per_epoch": train_examples // BATCH,
        "loop_wall_s": wall,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=600, help="training steps per timed repeat")
    parser.add_argument("--scan", type=int, default=100, help="steps per host call for (b)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", default="", help="write the results to this JSON file")
    parser.add_argument("--no-torch", action="store_true")
    parser.add_argument("--breakdown", action="store_true", help="also time ablations of the step (see above)")
    parser.add_argument("--loop", action="store_true", help="also time train.train_and_evaluate (loop_throughput)")
    parser.add_argument(
        "--methods",
        default="necst,abf,iabf",
        help="comma-separated steps timed in mode (b): necst (always) and abf / iabf",
    )
    parser.add_argument("--iabf_breakdown", action="store_true", help="also time the pieces of the IABF step")
    parser.add_argument("--loop_only", action="store_true", help="time train.train_and_evaluate only")
    args = parser.parse_args()
    if args.loop_only:
        out = loop_throughput()
        print(
            f"(c) train.train_and_evaluate loop: {out['loop_examples_per_s']:.0f} examples/s "
            f"({out['loop_epochs']} epochs of {out['loop_steps_per_epoch']} steps, {out['loop_wall_s']:.1f} s)"
        )
        if args.json:
            with open(args.json, "w") as f:
                json.dump(out, f, indent=2)
        return out

    load_before = os.getloadavg()
    flops = analytic_flops_per_example()
    jfns, xla_flops = jax_fns(args.steps, args.scan)
    fns = {"peak": matmul_peak_fn(), "single": jfns["single"], "scan": jfns["scan"]}
    extra = [m for m in args.methods.split(",") if m and m != "necst"]
    for name in extra:
        fns[f"scan_{name}"] = jax_fns(args.steps, args.scan, name)[0]["scan"]
    tfn = None if args.no_torch else torch_fn(min(args.steps, 300))
    if tfn is not None:
        fns["torch"] = tfn
    best = interleaved_best(fns, args.repeats)
    peak = best["peak"][0]
    torch_eps = best["torch"][0] if tfn is not None else None
    load_after = os.getloadavg()

    rows = [("(a) JAX, 1 jitted step / call", "single"), ("(b) JAX, lax.scan on device", "scan")]
    for name in extra:
        rows.append((f"(b) {name.upper()} step, lax.scan", f"scan_{name}"))
    if torch_eps is not None:
        rows.append(("PyTorch eager", "torch"))
    print(
        f"JAX {jax.__version__} on {jax.devices()[0].platform} ({os.cpu_count()} cores), batch {BATCH}, K={K}; "
        f"load average {load_before[0]:.2f} before, {load_after[0]:.2f} after"
    )
    print(
        f"analytic model FLOPs/example: {flops / 1e6:.2f} M; XLA cost analysis: "
        f"{(xla_flops or float('nan')) / 1e6:.2f} M; matmul peak {peak / 1e9:.1f} GFLOP/s "
        f"(cpu/wall {best['peak'][1]:.2f})"
    )
    print(f"{'variant':34s} {'examples/s':>12s} {'MFU':>7s} {'vs torch':>9s} {'vs NECST':>9s} {'cpu/wall':>9s}")
    for name, key in rows:
        rate, ratio = best[key]
        mfu = rate * flops / peak  # NECST's FLOPs: for ABF / IABF a lower bound of their utilisation
        vs = f"{rate / torch_eps:.2f}x" if torch_eps else "-"
        vs_necst = f"{rate / best['scan'][0]:.2f}x" if key.startswith("scan") else "-"
        print(f"{name:34s} {rate:12.0f} {mfu:7.1%} {vs:>9s} {vs_necst:>9s} {ratio:9.2f}")
    out = {
        "jax_version": jax.__version__,
        "platform": platform.platform(),
        "cores": os.cpu_count(),
        "load_average_before": load_before[0],
        "load_average_after": load_after[0],
        "batch": BATCH,
        "K": K,
        "bits": M,
        "analytic_flops_per_example": flops,
        "xla_flops_per_example": xla_flops,
        "matmul_peak_flops": peak,
        "single_step_examples_per_s": best["single"][0],
        "scan_examples_per_s": best["scan"][0],
        "torch_eager_examples_per_s": torch_eps,
        "cpu_over_wall": {key: best[key][1] for key in fns},
        "scan_mfu": best["scan"][0] * flops / peak,
        "scan_vs_torch": (best["scan"][0] / torch_eps) if torch_eps else None,
        **{f"scan_{name}_examples_per_s": best[f"scan_{name}"][0] for name in extra},
        **{f"scan_{name}_vs_necst": best[f"scan_{name}"][0] / best["scan"][0] for name in extra},
    }
    if args.loop:
        out.update(loop_throughput())
        print(
            f"{'(c) train.train_and_evaluate loop':34s} {out['loop_examples_per_s']:12.0f} "
            f"{out['loop_examples_per_s'] * flops / peak:7.1%}"
        )
    if args.breakdown:
        # shorter scans and more rounds than (b): the best of many short runs is less exposed to other jobs
        out["breakdown"] = breakdown(min(args.scan, 50), max(2 * args.repeats, 6))
    if args.iabf_breakdown:
        out["iabf_breakdown"] = iabf_breakdown(min(args.scan, 50), max(2 * args.repeats, 6))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=2)
    return out


if __name__ == "__main__":
    main()
