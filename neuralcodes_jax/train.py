"""The one training loop: ``train_group(configs, workdirs)`` trains a group of P runs as one program.

A *group* is P runs whose configs are equal except for the seed, the test grid and the fields the method declares
in ``group_fields`` (``methods/base.py``); a single run is a group of one (:func:`train_and_evaluate`).
``launch.main``, ``launch.sweep --vmap``, the notebooks and the benchmarks all come here.

The state has a leading points axis ``[P, ...]`` sharded over the ``'points'`` axis of a 2-D mesh
``('points', 'data')``; each run keeps its RNG streams ``fold_in(key(seed_p), i)``. A host call gathers S batches
per run from the device-resident training set by the run's epoch permutation (``xs [P, S, B, ...]``, the batch
sharded over ``'data'``; methods without data draw their inputs from the step key) and runs ``lax.scan`` over S
steps of ``method.train_step`` with the step key ``fold_in(train_p, step)``, vmapped over the runs (a group of one
runs unbatched); group fields that differ between runs enter as traced scalars through ``method.bind``. Host calls
never cross a block (epoch, or ``train.checkpoint_every_steps``) or stage boundary; at block ends every run is
validated and checkpointed (one Orbax series per run directory, all at the same step). Every random draw is a
function of (seed, step) or (seed, epoch), so a resumed group computes what the uninterrupted group would have and
run p of a group what the run alone would have (up to float rounding of the batched program). WORKSPACE.md has
the picture.

Multi-process runs execute the same loop in every process over one global mesh whose points axis has size 1;
host-gathered and evaluation batches come from each process's rows; only process 0 writes files.
Preemption: SIGTERM or SIGINT makes the loop stop at the next chunk boundary (all processes agree on the step),
write every run's checkpoint there (mid-epoch if need be) and raise ``Preempted``; the next start resumes.
"""

from __future__ import annotations

import dataclasses
import math
import os
import signal
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

from neuralcodes_jax import (
    checkpointing,
    config_utils,
    distributed,
    evaluators,
    methods,
    metrics_writer,
    run_config,
    specs,
)
from neuralcodes_jax import data as data_lib
from neuralcodes_jax.distributed import (
    DATA_AXIS,
    POINTS_AXIS,
    check_batch_size,
    make_mesh,
    on_points,
    replicated,
    split_batches,
)
from neuralcodes_jax.feed import Feed
from neuralcodes_jax.programs import (
    abstract_state,
    eval_batch_size,
    group_streams,
    make_batched_apply,
    make_run_chunk,
    per_point,
    squeeze,
)
from neuralcodes_jax.schedule import Schedule, make_schedule

PyTree = Any


class NonFiniteLossError(FloatingPointError):
    """Raised when training diverges: a loss or gradient norm becomes NaN or infinite, or the loss exceeds
    ``train.max_loss``. The last good checkpoints are kept and nothing is evaluated."""


class WorkdirLocked(RuntimeError):
    """Raised when another live run holds a workdir's lock."""


class Preempted(Exception):
    """Raised after a stop signal (SIGTERM, SIGINT): checkpoints at ``step`` are on disk; rerun to resume."""

    def __init__(self, step: int, workdir: str, cause: str | None = None):
        self.step = step
        self.workdir = workdir
        self.cause = cause
        cause = f" ({cause})" if cause else ""
        super().__init__(
            f"preempted at step {step}{cause}; checkpoint saved in {workdir}; run again with the same "
            f"config and workdir to resume"
        )


# ----------------------------------------------------------------------------------------------------------------
# Groups.


def group_values(configs: Sequence[Any], method) -> dict[str, np.ndarray]:
    """The group fields of ``method`` whose values differ between ``configs``, as ``{field: float32 [P]}``; raises
    ``ValueError`` if the configs differ in any field a group may not vary (naming the field and two values)."""
    flat = [config_utils.flatten(c) for c in configs]
    keys = set().union(*flat)
    for key in sorted(keys):
        vals = [f.get(key, "<missing>") for f in flat]
        if any(v != vals[0] for v in vals) and not methods.may_vary(key, method.group_fields):
            other = next(v for v in vals if v != vals[0])
            allowed = sorted(methods.ALWAYS_GROUPABLE + tuple(method.group_fields))
            raise ValueError(
                f"the runs of a group may differ only in {allowed} (method "
                f"{method.name!r}); field {key!r} differs: {vals[0]!r} vs {other!r}"
            )
    out = {}
    for field in method.group_fields:
        vals = [f.get(field) for f in flat]
        if any(v != vals[0] for v in vals):
            out[field] = np.asarray(vals, np.float32)
    return out


@dataclasses.dataclass
class GroupRun:
    """What the evaluators get after training: the group's configs, workdirs, methods, parameters, data, mesh."""

    configs: list
    workdirs: list[str]
    methods: list  # per run: the method built from its config (Python noise values)
    method: Any  # the method of run 0 (the program every run shares)
    values: dict[str, np.ndarray]  # traced group fields that differ between runs, [P] each
    state: PyTree  # final states [P, ...]
    params: PyTree  # evaluation parameters [P, ...] (best by validation, else final)
    metas: list[dict]
    splits: Any  # data_lib.Splits or None
    mesh: Any
    eval_keys: jax.Array  # [P]
    is_main: bool
    train_seconds: float = 0.0

    @property
    def num_points(self) -> int:
        return len(self.configs)

    def batched_apply(self, fn: Callable, batch_size: int):
        return make_batched_apply(fn, self.mesh, eval_batch_size(batch_size, self.mesh), self.num_points)

    def host(self, tree: PyTree) -> PyTree:
        """A stacked ``[P, ...]`` pytree as NumPy arrays, whole on every process."""
        return distributed.to_host(tree)


class _Runs:
    """The runs one host call trains, with what it needs: their mesh, group values and training keys there, whether
    the chunk masks stopped runs, and the programs compiled for them. This class is the whole group (its slice of a
    ``[P, ...]`` pytree is the pytree itself); :class:`_Part` is some of its runs."""

    def __init__(self, idx: np.ndarray, mesh, values: dict, train_key: jax.Array, valid=None, masked: bool = False):
        self.idx = idx
        self.mesh = mesh
        self.pts = on_points(mesh)
        self.batch_sharding = NamedSharding(mesh, P(POINTS_AXIS, None, DATA_AXIS))
        self.values = values
        self.train_key = train_key
        self.valid = valid
        self.masked = masked
        self.chunks: dict = {}
        self.gathers: dict = {}

    def take(self, tree: PyTree) -> PyTree:
        """The runs ``idx`` of a group's ``[P, ...]`` pytree, on this mesh."""
        return tree

    def put_back(self, state: PyTree, sub: PyTree, sharding) -> PyTree:
        """``state`` with the runs ``idx`` replaced by ``sub`` (``state`` may be donated)."""
        return sub

    def expand(self, tree: PyTree, num: int) -> PyTree:
        """Host arrays ``[len(idx), ...]`` as ``[num, ...]``, zero for the other runs."""
        return tree


class _Part(_Runs):
    """The runs ``idx`` of a group trained as a smaller group of their own (once the others have stopped early), on
    a mesh made for ``len(idx)`` runs. The group's state stays whole; each chunk takes the runs' slice and puts the
    result back."""

    def __init__(self, idx: np.ndarray, mesh, group_mesh, values_np: dict, streams: dict, valid=None):
        # The two meshes may hold different devices: slices move between them through device_put.
        self._group_repl = replicated(group_mesh)
        self._take = jax.jit(lambda tree: jax.tree.map(lambda a: a[idx], tree), out_shardings=self._group_repl)
        self._put = {}
        pts = on_points(mesh)
        values = {
            k: jax.make_array_from_callback((len(idx),), pts, lambda i, v=v[idx]: v[i]) for k, v in values_np.items()
        }
        super().__init__(idx, mesh, values, jax.device_put(self._take(streams["train"]), pts), valid)

    def take(self, tree: PyTree) -> PyTree:
        return jax.device_put(self._take(tree), self.pts)

    def put_back(self, state: PyTree, sub: PyTree, sharding) -> PyTree:
        if "fn" not in self._put:
            self._put["fn"] = jax.jit(
                lambda full, part: jax.tree.map(lambda a, b: a.at[self.idx].set(b), full, part),
                donate_argnums=(0,),
                out_shardings=sharding,
            )
        return self._put["fn"](state, jax.device_put(sub, self._group_repl))

    def expand(self, tree: PyTree, num: int) -> PyTree:
        def one(a):
            a = np.asarray(a)
            full = np.zeros((num,) + a.shape[1:], a.dtype)
            full[self.idx] = a
            return full

        return jax.tree.map(one, tree)


def train_group(
    configs: Sequence[Any],
    workdirs: Sequence[str | os.PathLike],
    *,
    summaries: Sequence[tuple[str, Sequence[int]]] = (),
    handle_signals: bool = True,
    evaluate: bool = True,
) -> dict:
    """Trains the runs ``configs`` as one group, checkpointing into ``workdirs`` (one per run); then evaluates.

    Resumes automatically from the newest step at which every run has a checkpoint. ``summaries`` lists
    ``(directory, run indices)`` sets (the seeds of one experiment) that the evaluator summarizes after evaluation.
    Returns ``{'runs': [per run {'state', 'eval', 'best_valid', 'meta'}], 'summaries': [...], 'seconds': ...}``.

    With ``handle_signals`` (and from the main thread), SIGTERM and SIGINT stop training at the next chunk boundary
    with checkpoints, raising ``Preempted``. In a multi-process run every process calls this with the same
    arguments.
    """
    configs = list(configs)
    workdirs = [str(w) for w in workdirs]
    if not configs:
        raise ValueError("a group needs at least one run")
    if len(workdirs) != len(configs):
        raise ValueError(f"a group needs one workdir per run ({len(configs)}), got {len(workdirs)}")
    if len(set(os.path.abspath(w) for w in workdirs)) != len(workdirs):
        raise ValueError(f"the runs of a group need distinct workdirs, got {workdirs}")
    t_start = time.time()
    for w in workdirs:
        if os.path.exists(w) and not os.path.isdir(w):
            raise ValueError(f"workdir {w} exists and is not a directory")
        try:
            os.makedirs(w, exist_ok=True)
        except OSError as err:
            raise ValueError(f"workdir {w} cannot be created: {err.strerror}") from None
        if not os.access(w, os.W_OK):
            raise ValueError(f"workdir {w} is not writable")
    is_main = distributed.is_main_process()
    locks = [checkpointing.WorkdirLock(w, WorkdirLocked) for w in workdirs] if is_main else []
    try:
        for lock in locks:
            lock.acquire(on_takeover=lambda msg: print(msg, file=sys.stderr, flush=True))
        return _train_group(configs, workdirs, summaries, handle_signals, evaluate, is_main, t_start)
    finally:
        for lock in locks:
            lock.release()


def _train_group(configs, workdirs, summaries, handle_signals, evaluate, is_main, t_start) -> dict:
    group = _Group(configs, workdirs, is_main)  # specs, data, methods, mesh, keys, checkpoints, the start state
    trainer = _Trainer(group, handle_signals)
    train_seconds = trainer.train()  # chunks until the schedule ends or every run has stopped
    params = trainer.finish()  # the parameters to evaluate: each run's best, or its last
    out = {
        "state": trainer.state,
        "summaries": [],
        "seconds": {"train": train_seconds},
        "runs": [{"meta": m, "best_valid": m.get("best_valid"), "eval": None} for m in trainer.metas],
        "run_steps": {
            "trained": sum(int(m.get("step", group.start_step)) - group.start_step for m in trainer.metas),
            "computed": trainer.computed,
        },
    }
    if evaluate:
        t_eval = time.time()
        _evaluate(
            GroupRun(
                configs=group.configs,
                workdirs=group.workdirs,
                methods=group.point_methods,
                method=group.method,
                values=group.values,
                state=trainer.state,
                params=params,
                metas=trainer.metas,
                splits=group.splits,
                mesh=group.mesh,
                eval_keys=group.streams["eval"],
                is_main=is_main,
                train_seconds=train_seconds,
            ),
            summaries,
            out,
        )
        out["seconds"].update(eval=time.time() - t_eval, total=time.time() - t_start)
    return out


class _Group:
    """What a group's training reads, built once: the parsed specs (every field read or refused, every value
    checked), the data, one method per run, the schedule, the mesh and the runs' keys and group values, the
    checkpointers (resume checks done, run files written) and the state to start from (restored or initialised)."""

    def __init__(self, configs: list, workdirs: list[str], is_main: bool):
        self.configs, self.workdirs, self.is_main, self.num = configs, workdirs, is_main, len(configs)
        run_specs = [run_config.parse(c) for c in configs]
        self.loop = run_specs[0].loop
        t = self.t = self.loop.train
        self.splits = data = None
        if run_specs[0].data is not None:  # the method trains on a dataset
            self.splits = data_lib.load_from_config(configs[0].data)
            data = methods.DataSpec(tuple(self.splits.shape), self.splits.is_binary, run_specs[0].data.name)
        self.point_methods = [methods.build(c, data) for c in configs]
        method = self.method = self.point_methods[0]
        self.values_np = group_values(configs, method)
        self.uses_data = method.uses_data
        self.batch_size = t.batch_size if self.uses_data else None
        self.sched = make_schedule(method, t, self.splits.train.shape[0] if self.uses_data else None, self.batch_size)
        self.mesh = make_mesh(self.num, t.num_devices, split_batches(t.num_devices))
        if self.uses_data:
            check_batch_size(self.batch_size, self.mesh)
        self.pts = pts = on_points(self.mesh)
        repl = replicated(self.mesh)
        self.streams = group_streams([int(c.seed) for c in configs], pts)
        self.values = {
            k: jax.make_array_from_callback(v.shape, pts, lambda idx, v=v: v[idx]) for k, v in self.values_np.items()
        }
        self.ckpts = [checkpointing.Checkpointer(w, keep=t.keep_checkpoints) for w in workdirs]
        for c, w, ck in zip(configs, workdirs, self.ckpts):
            if ck.latest_steps():
                checkpointing.check_resume_config(c, w, ck.latest_steps()[-1], record=is_main)
        if is_main:
            metrics_writer.write_run_files(configs, workdirs)
        example = jnp.asarray(self.splits.train[:1]) if self.uses_data else None
        self.single_abstract = abstract_state(method, example, repl)
        init_fn = jax.jit(per_point(method.init, self.num, (0, None)), out_shardings=pts)
        self.stack = jax.jit(lambda *trees: jax.tree.map(lambda *a: jnp.stack(a), *trees), out_shardings=pts)
        self.take = jax.jit(lambda tree, i: jax.tree.map(lambda a: a[i], tree), out_shardings=repl)
        self.state, self.metas = checkpointing.restore_or_init(
            self.ckpts,
            workdirs,
            self.single_abstract,
            init_fn,
            self.stack,
            self.streams,
            example,
            self.sched,
            self.batch_size,
        )
        self.start_step = int(jax.device_get(self.state["step"])[0])

    def make_valid(self, on_mesh, n: int):
        """The batched validation score of ``n`` runs on ``on_mesh``, or None (no validation or no data)."""
        if not (self.method.has_validation and self.uses_data):
            return None
        return make_batched_apply(
            lambda p, x, k, v: self.method.bind(v).valid_loss(p, x, k),
            on_mesh,
            eval_batch_size(self.loop.eval.batch_size, on_mesh),
            n,
        )


class _Trainer:
    """The chunk loop of a :class:`_Group`: one host call trains the active runs over a chunk of steps; at block
    ends, validation, early stops and checkpoints; a stop signal saves every run and raises ``Preempted``."""

    def __init__(self, g: _Group, handle_signals: bool):
        self.g, t = g, g.t
        self.state, self.metas, self.step, self.computed = g.state, g.metas, g.start_step, 0
        self.feed = Feed(t, g.splits, g.sched, g.batch_size, g.streams["data"], g.pts) if g.uses_data else None
        self.fold_keys = jax.jit(jax.vmap(jax.random.fold_in, in_axes=(0, None)), out_shardings=g.pts)
        self.valid_fn = g.make_valid(g.mesh, g.num)
        self.writers = [
            metrics_writer.MetricWriter(w, enabled=g.is_main, tensorboard=t.tensorboard) for w in g.workdirs
        ]
        self.progress = metrics_writer.Progress(g.sched.total_steps, g.start_step, enabled=g.is_main and t.progress)
        self.stop = distributed.StopSignals() if handle_signals else distributed.StopSignals(signals=())
        self.max_loss, self.patience = _stop_rules(t, g.method.name, self.valid_fn is not None)
        self.active = np.asarray([not m.get("stopped", False) for m in g.metas])
        # The whole group; with train.patience its chunks take the runs still active and drop the others' steps.
        self.whole = _Runs(
            np.arange(g.num), g.mesh, g.values, g.streams["train"], self.valid_fn, masked=self.patience is not None
        )
        # Once some runs have stopped, the others train as a smaller group of their own (their slice of the state,
        # on a mesh made for that many runs) instead of computing the stopped runs' steps and dropping them. One
        # process only: a multi-process group keeps its mesh (its points axis is 1 there anyway).
        self.compact = self.patience is not None and g.num > 1 and jax.process_count() == 1 and t.compact_stopped
        self.parts: dict[tuple[int, ...], _Part] = {}
        self.saver = checkpointing.Saver(g.ckpts, g.single_abstract, g.take)

    def runs_for(self, live: np.ndarray) -> _Runs:
        """The runs the next chunk trains: the runs ``live`` as a part of their own, else the whole group."""
        g = self.g
        if not self.compact or len(live) == g.num:
            return self.whole
        key = tuple(int(i) for i in live)
        if key not in self.parts:
            sub_mesh = make_mesh(len(key), g.t.num_devices, split_batches(g.t.num_devices))
            if g.uses_data and g.batch_size % sub_mesh.shape[DATA_AXIS]:
                return self.whole
            self.parts[key] = _Part(
                np.asarray(key), sub_mesh, g.mesh, g.values_np, g.streams, valid=g.make_valid(sub_mesh, len(key))
            )
        return self.parts[key]

    def train(self) -> float:
        """Trains to the end of the schedule (or until every run has stopped); returns the seconds it took."""
        t_train = time.time()
        with self.stop:  # stop signals are caught until the last checkpoint is on disk
            try:
                while self.step < self.g.sched.total_steps and self.active.any():
                    runs, block, block_end = self.chunk()
                    if self.step == block_end:
                        self.end_block(runs, block, time.time() - t_train)
                    if self.stop.agreed():
                        self.preempt()
            finally:
                for ck in self.g.ckpts:
                    ck.wait()  # asynchronous saves reach the disk even when the loop raised
                self.progress.close()
                for w in self.writers:
                    w.flush()
        return time.time() - t_train

    def chunk(self) -> tuple[_Runs, int, int]:
        """One host call: the active runs train ``sched.chunk(step)`` steps; returns them, the block and its end."""
        g, step, active = self.g, self.step, self.active
        stage, n_steps = g.sched.stage_at(step), g.sched.chunk(step)
        runs = self.runs_for(np.flatnonzero(active))
        xs = self.feed(runs, step, stage, n_steps) if g.uses_data else None
        if (stage, n_steps) not in runs.chunks:
            runs.chunks[(stage, n_steps)] = make_run_chunk(
                g.method, runs.mesh, len(runs.idx), stage, n_steps, g.uses_data, masked=runs.masked
            )
        extra = (jax.make_array_from_callback(active.shape, g.pts, lambda idx: active[idx]),) if runs.masked else ()
        new_sub, metrics = runs.chunks[(stage, n_steps)](runs.take(self.state), xs, runs.train_key, runs.values, *extra)
        new_state = runs.put_back(self.state, new_sub, g.pts)
        metrics = runs.expand(distributed.to_host(metrics), g.num)
        self.computed += len(runs.idx) * n_steps
        loss = np.asarray(metrics["loss"]).reshape(g.num, n_steps)
        _check_divergence(metrics, g.num, n_steps, step, self.max_loss, g.workdirs, g.ckpts[0].latest_step(), active)
        self.state, self.step = new_state, step + n_steps
        self.progress.update(n_steps, float(np.mean(loss[active, -1])))
        block = g.sched.block_at(step)
        block_end = g.sched.blocks[block]
        if self.step % g.t.log_every_steps < n_steps or self.step == block_end:
            for p in np.flatnonzero(active):
                self.writers[p].write_scalars(
                    self.step, {f"train/{k}": float(np.mean(np.asarray(v)[p])) for k, v in metrics.items()}
                )
        return runs, block, block_end

    def end_block(self, runs: _Runs, block: int, seconds: float) -> None:
        """The end of ``block``: validation, early stops, the best and latest checkpoints."""
        g, step = self.g, self.step
        scores = None
        if self.valid_fn is not None:
            vkeys = self.fold_keys(g.streams["valid"], block)
            sub = runs.valid(runs.take(self.state["params"]), g.splits.valid, runs.take(vkeys), runs.values)
            scores = runs.expand(np.mean(sub, axis=1), g.num)
        throughput = (step - g.start_step) * g.batch_size / max(seconds, 1e-9) if g.uses_data else None
        improved = _end_block(
            block, step, scores, self.metas, self.active, self.patience, g.sched, self.writers, throughput
        )
        if improved.any():
            self.saver.save_best(self.state, step, np.flatnonzero(improved), self.metas)
        if step in g.sched.saves or not self.active.any():
            self.saver.save_latest(self.state, step, self.metas)

    def preempt(self) -> None:
        self.saver.save_latest(self.state, self.step, self.metas, {"preempted": True})
        if self.stop.signum is not None:
            cause = signal.Signals(self.stop.signum).name
        else:
            cause = "stop requested" if self.stop.requested else "another process was asked to stop"
        workdirs = self.g.workdirs
        raise Preempted(self.step, workdirs[0] if len(workdirs) == 1 else os.path.commonpath(workdirs), cause)

    def finish(self) -> PyTree:
        """Closes the checkpointers and writers; returns the parameters to evaluate (``eval.use_best``)."""
        g = self.g
        use_best = isinstance(g.loop.eval, specs.ValidatedLoopEval) and g.loop.eval.use_best
        params = checkpointing.eval_params(self.state, g.ckpts, g.single_abstract, g.take, g.stack, use_best)
        for ck in g.ckpts:
            ck.close()
        for w in self.writers:
            w.close()
        return params


def _stop_rules(train_cfg: specs.LoopTrain, method_name: str, has_valid: bool) -> tuple[float | None, int | None]:
    """``train.max_loss`` (divergence bound) and ``train.patience`` (early stopping, in blocks)."""
    max_loss = train_cfg.max_loss
    patience = train_cfg.patience if isinstance(train_cfg, specs.DataLoopTrain) else None
    if patience is not None and not has_valid:
        raise ValueError(
            f"train.patience needs a validation score; method {method_name!r} has none (or the config has no dataset)"
        )
    return max_loss, patience


def _end_block(
    block: int,
    step: int,
    scores,
    metas: list[dict],
    active: np.ndarray,
    patience: int | None,
    sched: Schedule,
    writers,
    examples_per_sec: float | None,
) -> np.ndarray:
    """Books the end of ``block`` for the active runs: validation ``scores`` (or None), best so far, early stops
    (``active`` and ``metas`` updated in place), a metrics row each. Returns which runs improved."""
    improved = np.zeros(len(metas), bool)
    for p in np.flatnonzero(active):
        meta = dict(metas[p], block=block + 1, step=step)
        if sched.steps_per_epoch:
            meta["epoch"] = block + 1
        if scores is not None:
            meta["valid"] = float(scores[p])
            if scores[p] < meta["best_valid"]:
                improved[p] = True
                meta.update(best_valid=float(scores[p]), best_step=step)
        if patience is not None and not improved[p] and block + 1 - meta.get("best_block", 0) >= patience:
            meta.update(stopped=True, stopped_at_block=block + 1)
            active[p] = False
        if improved[p]:
            meta["best_block"] = block + 1
        metas[p] = meta
        row = {"block": block + 1}
        if sched.steps_per_epoch:
            row["epoch"] = block + 1
        if scores is not None:
            row.update({"valid/loss": float(scores[p]), "valid/best": meta["best_valid"]})
        if examples_per_sec is not None:
            row["examples_per_sec"] = examples_per_sec
        writers[p].write_scalars(step, row)
        writers[p].flush()
    return improved


def _evaluate(run: GroupRun, summaries, out: dict) -> None:
    """Runs the evaluator (``eval.evaluator``, else the method's) on every run and on each set of ``summaries``;
    fills ``out`` and writes each one's flat metrics."""
    evaluator = evaluators.get(run_config.parse(run.configs[0]).evaluator)
    results = evaluator.evaluate(run)
    steps = jax.device_get(run.state["step"]) if run.is_main else None
    for p, res in enumerate(results):
        out["runs"][p]["eval"] = res
        if run.is_main:
            facts = _run_facts(run.metas[p], int(steps[p]))
            metrics_writer.write_run_metrics(run.workdirs[p], {**evaluator.metrics(res), **facts})
    for directory, members in summaries:
        members = list(members)
        summary = evaluator.summarize(run, [results[i] for i in members], members, str(directory))
        out["summaries"].append(summary)
        if run.is_main:
            metrics_writer.write_run_metrics(str(directory), evaluator.metrics(summary))


def _run_facts(meta: dict, steps: int) -> dict:
    """How a run trained, beside its evaluator's metrics: its steps and its best validation score and step (None
    without validation)."""
    best = meta.get("best_valid")
    has_best = best is not None and math.isfinite(best)
    return {
        "train/steps": steps,
        "valid/best": float(best) if has_best else None,
        "valid/best_step": int(meta["best_step"]) if has_best else None,
    }


def _check_divergence(
    metrics: dict,
    num: int,
    n_steps: int,
    step: int,
    max_loss: float | None,
    workdirs: Sequence[str],
    last_good: int | None,
    active: np.ndarray | None = None,
) -> None:
    """Raises ``NonFiniteLossError`` naming each diverged run and the first bad step of the chunk that started at
    ``step``: a non-finite loss or gradient norm, or (``max_loss``) a loss above the bound."""
    bad = []
    for name in ("loss", "grad_norm"):
        if name not in metrics:
            continue
        values = np.asarray(metrics[name], np.float64).reshape(num, n_steps)
        wrong = ~np.isfinite(values)
        what = f"non-finite {name}"
        if name == "loss" and max_loss is not None:
            wrong |= values > max_loss
            what = f"{name} non-finite or above train.max_loss={max_loss:g}"
        if active is not None:
            wrong &= active[:, None]  # the dropped steps of stopped runs do not count
        for p in np.flatnonzero(wrong.any(axis=1)):
            t = int(np.argmax(wrong[p]))
            bad.append(f"{workdirs[p]}: {what} at step {step + t} ({name} = {values[p, t]:.4g})")
    if bad:
        raise NonFiniteLossError(
            f"training diverged: {'; '.join(bad)}. The last good checkpoints (step "
            f"{last_good}) are kept and nothing was evaluated; lower optim.lr or check the data."
        )


def train_and_evaluate(config, workdir: str, *, handle_signals: bool = True) -> dict:
    """Trains and evaluates one run (a group of one) in ``workdir``; returns ``{'state', 'eval', 'best_valid',
    'meta'}`` with the state without its points axis. See :func:`train_group`."""
    out = train_group([config], [workdir], handle_signals=handle_signals)
    run = out["runs"][0]
    return {"state": squeeze(out["state"]), "eval": run["eval"], "best_valid": run["best_valid"], "meta": run["meta"]}
