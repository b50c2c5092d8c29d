"""``train_and_evaluate(config, workdir)``: the one training loop of the framework.

Data flow of one host call (see WORKSPACE.md for the picture):

1. At the start of each epoch a permutation of the training set is drawn on the device from
   ``fold_in(data_stream, epoch)``.
2. ``gather`` (jitted) cuts the next S batches out of the device-resident training set by that permutation, giving
   ``xs`` [S, B, ...] sharded over the ``'data'`` mesh axis (the batch axis). Datasets too large for the device are
   gathered on the host instead and put on the devices with the same sharding: the same batches either way.
3. ``run_chunk`` (jitted, state donated) runs ``lax.scan`` over the S batches; step t uses the key
   ``fold_in(train_stream, t)``. Parameters and optimizer state are replicated (``P()``), the batch is sharded
   (``P('data')``), and XLA inserts the gradient all-reduce: data parallelism without pmap.
4. The host checks the chunk's losses are finite, logs the metrics (JSON lines, TensorBoard, progress bar).
5. At the end of each epoch: validation, latest checkpoint, best checkpoint when validation improved.

Chunks never cross an epoch boundary, and every random draw is a function of (seed, step) or (seed, epoch), so a
run resumed from any checkpoint computes exactly what the uninterrupted run would have.

Multi-process (multi-host) runs execute the same loop in every process over one global mesh (``jax.distributed``,
see ``distributed.py``). Every process loads the splits and holds the device-resident training set on its own
devices; the permutation and the gathered batches are the global ones, each device computing its shard of the batch,
so a run with P processes of D devices computes what one process with P * D devices computes. Host-gathered data and
evaluation batches are built from each process's rows only. All processes save and restore checkpoints (Orbax
coordinates them); only process 0 writes metrics, TensorBoard, config and evaluation reports.

Preemption: SIGTERM or SIGINT makes the loop stop at the next chunk boundary (all processes agree on the step),
write a checkpoint there (mid-epoch if need be) and raise ``Preempted``; the next start resumes from it and computes
what the uninterrupted run would have.
"""

from __future__ import annotations

import json
import math
import os
import platform
import signal
import subprocess
import time
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

from neuralcodes_jax import checkpointing
from neuralcodes_jax import data as data_lib
from neuralcodes_jax import distributed
from neuralcodes_jax import evaluation
from neuralcodes_jax import methods
from neuralcodes_jax import metrics_writer

PyTree = Any

DATA_AXIS = "data"


class NonFiniteLossError(FloatingPointError):
    """Raised when a training loss becomes NaN or infinite; the last good checkpoint is kept."""


class Preempted(Exception):
    """Raised after a stop signal (SIGTERM, SIGINT): a checkpoint at ``step`` is on disk; rerun to resume."""

    def __init__(self, step: int, workdir: str, cause: str | None = None):
        self.step = step
        self.workdir = workdir
        self.cause = cause
        cause = f" ({cause})" if cause else ""
        super().__init__(f"preempted at step {step}{cause}; checkpoint saved in {workdir}; run again with the same "
                         f"config and workdir to resume")


# ----------------------------------------------------------------------------------------------------------------
# Mesh and sharding.

def make_mesh(num_devices: int = 0) -> jax.sharding.Mesh:
    """A one-axis ('data',) mesh over the first ``num_devices`` global devices (0 = all)."""
    devices = jax.devices()
    if num_devices < 0 or num_devices > len(devices):
        raise ValueError(f"train.num_devices must be in [0, {len(devices)}] (0 = all devices), got {num_devices}")
    if jax.process_count() > 1 and num_devices not in (0, len(devices)):
        raise ValueError(f"train.num_devices must be 0 or {len(devices)} (all devices) in a run of "
                         f"{jax.process_count()} processes, got {num_devices}")
    devices = devices[:num_devices] if num_devices else devices
    return jax.sharding.Mesh(np.asarray(devices), (DATA_AXIS,))


def replicated(mesh) -> NamedSharding:
    return NamedSharding(mesh, P())


def check_batch_size(batch_size: int, mesh) -> None:
    n = mesh.devices.size
    if batch_size < 1 or batch_size % n:
        raise ValueError(f"train.batch_size must be a positive multiple of the device count ({n}), "
                         f"got {batch_size}")


# ----------------------------------------------------------------------------------------------------------------
# RNG streams: named, derived from config.seed; per-step keys are fold_in(stream, step).

STREAMS = ("init", "train", "data", "valid", "eval")


def rng_streams(seed: int) -> dict[str, jax.Array]:
    root = jax.random.key(seed)
    return {name: jax.random.fold_in(root, i) for i, name in enumerate(STREAMS)}


# ----------------------------------------------------------------------------------------------------------------
# Jitted pieces.

def make_run_chunk(method, mesh):
    """jit(scan(train_step)) over a chunk of batches; state donated; state replicated in and out."""
    repl = replicated(mesh)

    def run_chunk(state, xs, train_key):
        def body(state, x):
            key = jax.random.fold_in(train_key, state["step"])
            state, metrics = method.train_step(state, x, key)
            return state, metrics

        return jax.lax.scan(body, state, xs)

    return jax.jit(run_chunk, donate_argnums=(0,), out_shardings=(repl, repl))


def make_gather(mesh, batch_size: int, num_steps: int):
    """Device-side batch gathering: xs[s, b] = train_x[perm[offset + s * B + b]]."""
    out = NamedSharding(mesh, P(None, DATA_AXIS))

    def gather(train_x, perm, offset):
        idx = jax.lax.dynamic_slice(perm, (offset,), (num_steps * batch_size,))
        xs = jnp.take(train_x, idx, axis=0)
        return xs.reshape((num_steps, batch_size) + train_x.shape[1:])

    return jax.jit(gather, out_shardings=out)


def epoch_permutation(data_key: jax.Array, epoch: int, n: int) -> jax.Array:
    return jax.random.permutation(jax.random.fold_in(data_key, epoch), n)


def padded_batches(x: np.ndarray, batch_size: int):
    """Consecutive batches of ``x``, the last one zero-padded to ``batch_size``: yields
    ``(batch index, batch, number of real rows)``."""
    for i, start in enumerate(range(0, x.shape[0], batch_size)):
        batch = x[start:start + batch_size]
        valid = batch.shape[0]
        if valid < batch_size:
            batch = np.concatenate([batch, np.zeros((batch_size - valid,) + batch.shape[1:], batch.dtype)])
        yield i, batch, valid


def schedule(n_train: int, batch_size: int, train_config) -> tuple[int, int, int]:
    """``(steps per epoch, total steps, steps per jitted call)`` of a run on ``n_train`` examples."""
    steps_per_epoch = n_train // batch_size
    if steps_per_epoch < 1:
        raise ValueError(f"train.batch_size ({batch_size}) is larger than the training set ({n_train} examples)")
    total_steps = int(train_config.num_epochs) * steps_per_epoch
    return steps_per_epoch, total_steps, min(int(train_config.steps_per_call), steps_per_epoch)


def make_batched_eval(fn, mesh, batch_size: int):
    """Apply a per-example function (params, x, key) -> pytree of [B] arrays over a dataset, in sharded batches.

    The dataset is padded to a multiple of ``batch_size``; padded rows are dropped from the result. Each batch gets
    the key ``fold_in(key, batch_index)``. In a multi-process run every process passes the whole dataset, puts only
    its rows of each batch on its devices, and gets the whole result back.
    """
    batch_sharding = NamedSharding(mesh, P(DATA_AXIS))
    jitted = jax.jit(fn, out_shardings=batch_sharding)

    def run(params, x: np.ndarray, key: jax.Array):
        outs = []
        global_shape = (batch_size,) + x.shape[1:]
        rows = distributed.local_rows(batch_sharding, global_shape, 0)
        for i, batch, valid in padded_batches(x, batch_size):
            batch = distributed.put_global(batch[rows], batch_sharding, global_shape)
            res = distributed.to_host(jitted(params, batch, jax.random.fold_in(key, i)))
            outs.append(jax.tree.map(lambda a, v=valid: a[:v], res))
        return jax.tree.map(lambda *a: np.concatenate(a), *outs)

    return run


# ----------------------------------------------------------------------------------------------------------------
# The loop.

def _validate_config(config) -> None:
    t = config.train
    if t.num_epochs < 1:
        raise ValueError(f"train.num_epochs must be >= 1, got {t.num_epochs}")
    if t.steps_per_call < 1:
        raise ValueError(f"train.steps_per_call must be >= 1, got {t.steps_per_call}")
    if t.get("data_on_device", "auto") not in ("auto", "always", "never"):
        raise ValueError(f"train.data_on_device must be one of ['auto', 'always', 'never'], "
                         f"got {t.data_on_device!r}")


def _run_info(config) -> dict:
    info = {
        "jax": jax.__version__,
        "python": platform.python_version(),
        "devices": [str(d) for d in jax.devices()],
        "process_count": jax.process_count(),
    }
    try:
        info["git"] = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5,
                                     cwd=os.path.dirname(__file__)).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        pass
    return info


def train_and_evaluate(config, workdir: str, *, handle_signals: bool = True) -> dict:
    """Train ``config.method`` on ``config.data``, checkpointing into ``workdir``; then evaluate.

    Resumes automatically from the newest checkpoint in ``workdir``. Returns a dict with the final training
    state (``state``), the evaluation results (``eval``, also written to ``WORKDIR/eval.json`` and
    ``WORKDIR/eval.md``) and the best validation score.

    With ``handle_signals`` (and when called from the main thread), SIGTERM and SIGINT during training stop the run
    at the next chunk boundary with a checkpoint, raising ``Preempted``; a second SIGINT interrupts at once. In a
    multi-process run every process must call this function with the same config and workdir.
    """
    _validate_config(config)
    os.makedirs(workdir, exist_ok=True)
    mesh = make_mesh(int(config.train.get("num_devices", 0)))
    batch_size = int(config.train.batch_size)
    check_batch_size(batch_size, mesh)
    is_main = distributed.is_main_process()

    splits = data_lib.load_from_config(config.data)
    method = methods.build(config, splits.shape, splits.is_binary)
    n_train = splits.train.shape[0]
    num_epochs = int(config.train.num_epochs)
    steps_per_epoch, total_steps, steps_per_call = schedule(n_train, batch_size, config.train)

    if is_main:
        with open(os.path.join(workdir, "config.json"), "w") as f:
            f.write(config.to_json_best_effort(indent=2))
        with open(os.path.join(workdir, "run_info.json"), "w") as f:
            json.dump(_run_info(config), f, indent=2)

    keys = rng_streams(int(config.seed))
    repl = replicated(mesh)
    example = jnp.asarray(splits.train[:1])
    init_fn = jax.jit(method.init, out_shardings=repl)
    abstract_state = jax.eval_shape(init_fn, keys["init"], example)
    abstract_state = jax.tree.map(
        lambda s: jax.ShapeDtypeStruct(s.shape, s.dtype, sharding=repl), abstract_state)

    ckpt = checkpointing.Checkpointer(workdir, keep=int(config.train.get("keep_checkpoints", 2)))
    restored = ckpt.restore_latest(abstract_state)
    if restored is None:
        state = init_fn(keys["init"], example)
        meta = {"epoch": 0, "best_valid": math.inf, "best_step": -1}
    else:
        state, meta = restored
        meta.pop("preempted", None)
    start_step = int(jax.device_get(state["step"]))
    if start_step % steps_per_epoch and start_step < total_steps and (
            meta.get("steps_per_epoch") != steps_per_epoch or meta.get("batch_size") != batch_size):
        # A mid-epoch checkpoint (written on preemption) resumes only with the batches it was cut from.
        raise ValueError(f"workdir {workdir} holds a checkpoint at step {start_step}, which is not an epoch "
                         f"boundary for {steps_per_epoch} steps per epoch of batch size {batch_size} (the checkpoint "
                         f"has {meta.get('steps_per_epoch')} of batch size {meta.get('batch_size')}); use the "
                         f"original batch size and training set, or a fresh workdir")
    meta = dict(meta, steps_per_epoch=steps_per_epoch, batch_size=batch_size)

    on_device = config.train.get("data_on_device", "auto")
    if on_device == "auto":
        on_device = "always" if splits.train.nbytes <= int(config.train.get("max_device_bytes", 2 << 30)) \
            else "never"
    # The training set, replicated on every device (each process copies its own; nothing crosses processes).
    train_x_dev = distributed.put_replicated(splits.train, mesh) if on_device == "always" else None
    batch_sharding = NamedSharding(mesh, P(None, DATA_AXIS))

    run_chunk = make_run_chunk(method, mesh)
    gathers: dict[int, Any] = {}
    n_dev = mesh.devices.size
    valid_batch = int(config.eval.get("batch_size", 1000))
    valid_fn = make_batched_eval(method.valid_loss, mesh, max(n_dev, valid_batch - valid_batch % n_dev))

    writer = metrics_writer.MetricWriter(workdir, enabled=is_main,
                                         tensorboard=bool(config.train.get("tensorboard", True)))
    progress = metrics_writer.Progress(total_steps, start_step, enabled=is_main and config.train.get(
        "progress", True))
    stop = distributed.StopSignals() if handle_signals else distributed.StopSignals(signals=())

    def preempt(step: int) -> None:
        """Checkpoint at ``step`` (unless one is already there) and stop; called by all processes together."""
        if ckpt.latest_step() != step:
            ckpt.save_latest(step, state, dict(meta, step=step, preempted=True))
        if stop.signum is not None:
            cause = signal.Signals(stop.signum).name
        else:
            cause = "stop requested" if stop.requested else "another process was asked to stop"
        raise Preempted(step, workdir, cause)

    t_start = time.time()
    step = start_step
    with stop:          # stop signals are caught until the last checkpoint is on disk
        try:
            while step < total_steps:
                epoch = step // steps_per_epoch
                perm = epoch_permutation(keys["data"], epoch, n_train)
                perm_host = None if on_device == "always" else np.asarray(perm)
                epoch_end = (epoch + 1) * steps_per_epoch
                while step < epoch_end:
                    n_steps = min(steps_per_call, epoch_end - step)
                    offset = (step % steps_per_epoch) * batch_size
                    if on_device == "always":
                        if n_steps not in gathers:
                            gathers[n_steps] = make_gather(mesh, batch_size, n_steps)
                        xs = gathers[n_steps](train_x_dev, perm, offset)
                    else:
                        # Each process gathers only the batch rows of its own devices.
                        global_shape = (n_steps, batch_size) + splits.shape
                        rows = distributed.local_rows(batch_sharding, global_shape, 1)
                        idx = perm_host[offset:offset + n_steps * batch_size].reshape(n_steps, batch_size)
                        xs = distributed.put_global(splits.train[idx[:, rows]], batch_sharding, global_shape)
                    new_state, metrics = run_chunk(state, xs, keys["train"])
                    metrics = jax.device_get(metrics)
                    if not np.all(np.isfinite(metrics["loss"])):
                        bad = int(np.argmin(np.isfinite(metrics["loss"])))
                        raise NonFiniteLossError(
                            f"non-finite training loss at step {step + bad} (epoch {epoch}); the last good "
                            f"checkpoint (step {ckpt.latest_step()}) is kept in {workdir}. Lower optim.lr or check "
                            f"the data.")
                    state = new_state
                    step += n_steps
                    progress.update(n_steps, float(metrics["loss"][-1]))
                    if step % int(config.train.get("log_every_steps", 100)) < n_steps or step == epoch_end:
                        writer.write_scalars(step, {f"train/{k}": float(np.mean(v)) for k, v in metrics.items()})
                    if step < epoch_end and stop.agreed():
                        preempt(step)
                # End of epoch: validation and checkpoints.
                valid = valid_fn(state["params"], splits.valid, jax.random.fold_in(keys["valid"], epoch))
                valid_score = float(np.mean(valid))
                meta = dict(meta, epoch=epoch + 1, valid=valid_score, step=step)
                improved = valid_score < meta["best_valid"]
                if improved:
                    meta.update(best_valid=valid_score, best_step=step)
                writer.write_scalars(step, {"valid/loss": valid_score, "valid/best": meta["best_valid"],
                                            "epoch": epoch + 1,
                                            "examples_per_sec": (step - start_step) * batch_size
                                            / max(time.time() - t_start, 1e-9)})
                writer.flush()
                if improved:
                    ckpt.save_best(step, state, meta)
                if (epoch + 1) % int(config.train.get("checkpoint_every_epochs", 1)) == 0 or step == total_steps:
                    ckpt.save_latest(step, state, meta)
                if stop.agreed():
                    preempt(step)
        finally:
            ckpt.wait()           # asynchronous saves reach the disk even when the loop raised
            progress.close()
            writer.flush()

    # Evaluation on the best-by-validation parameters (or the final ones).
    params = state["params"]
    if config.eval.get("use_best", True) and ckpt.best.latest_step() is not None:
        best = ckpt.restore_best(abstract_state)
        params = best[0]["params"]
    ckpt.close()
    results = evaluation.evaluate_noise_grid(
        method, params, splits, config.eval, mesh, keys["eval"])
    if is_main:
        evaluation.write_results(results, workdir, title=config.get("name", config.method),
                                 context=evaluation.describe_run(config, splits, meta))
    writer.close()
    return {"state": state, "eval": results, "best_valid": meta.get("best_valid"), "meta": meta}
