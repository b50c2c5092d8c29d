"""The one module that talks to Orbax.

A run's workdir holds two checkpoint series:

* ``WORKDIR/checkpoints/latest/<step>/``: the most recent states (``keep`` of them), written at the end of every
  epoch and on request; a restarted run resumes from the newest one.
* ``WORKDIR/checkpoints/best/<step>/``: the single state with the best validation score so far.

Each checkpoint has two items: ``state`` (the pure array pytree of the method: params, optimizer state, step) and
``meta`` (a small JSON dict: epoch, validation score, best score, ...). No RNG key is ever saved: every key in a run
is ``fold_in(stream, step)`` of a stream derived from ``config.seed``, so a resumed run draws the same randomness.

Restoration goes onto an *abstract* state (``jax.ShapeDtypeStruct`` leaves with shardings), so arrays come back
with the shardings of the running program (replicated on the data-parallel mesh).
"""

from __future__ import annotations

import json
import logging
import math
import os
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import jax
import numpy as np
import orbax.checkpoint as ocp

from neuralcodes_jax import config_utils, distributed

PyTree = Any


class CheckpointWriteError(OSError):
    """A checkpoint could not be written (disk full, permissions, a failing filesystem). Orbax writes a checkpoint
    into a temporary directory and commits it by a rename, so the checkpoints written before stay restorable."""


class _Series:
    """One ``CheckpointManager`` over ``state`` + ``meta`` items."""

    def __init__(self, directory: str, keep: int, name: str):
        # In a multi-process run Orbax synchronises the processes with barriers named after the step; two series
        # saving the same step (latest and best at an epoch end) need their own prefix, or the barriers collide.
        options = ocp.CheckpointManagerOptions(
            max_to_keep=keep,
            create=True,
            multiprocessing_options=ocp.options.MultiprocessingOptions(barrier_sync_key_prefix=f"nc_{name}"),
        )
        self.directory = os.path.abspath(directory)
        self._manager = ocp.CheckpointManager(self.directory, options=options, item_names=("state", "meta"))

    def latest_step(self) -> int | None:
        return self._manager.latest_step()

    def all_steps(self) -> list[int]:
        return sorted(int(s) for s in self._manager.all_steps())

    def save(self, step: int, state: PyTree, meta: dict) -> None:
        try:
            self._manager.save(
                int(step),
                args=ocp.args.Composite(state=ocp.args.StandardSave(state), meta=ocp.args.JsonSave(meta)),
                force=True,
            )
        except Exception as err:
            raise self._write_error(f"step {int(step)}", err) from err

    def _write_error(self, what: str, err: BaseException) -> CheckpointWriteError:
        kept = self.all_steps()
        return CheckpointWriteError(
            f"writing the checkpoint ({what}) in {self.directory} failed: {type(err).__name__}: {err}; "
            f"the checkpoints written before are kept ({'steps ' + ', '.join(map(str, kept)) if kept else 'none'}): "
            f"free space or fix the permissions, then rerun the same command to resume"
        )

    def restore(self, abstract_state: PyTree, step: int | None = None) -> tuple[PyTree, dict] | None:
        step = self._manager.latest_step() if step is None else step
        if step is None:
            return None
        restored = self._manager.restore(
            step, args=ocp.args.Composite(state=ocp.args.StandardRestore(abstract_state), meta=ocp.args.JsonRestore())
        )
        return restored["state"], dict(restored["meta"])

    def wait(self) -> None:
        try:
            self._manager.wait_until_finished()
        except Exception as err:
            raise self._write_error("an asynchronous write", err) from err

    def close(self) -> None:
        try:
            self.wait()
        finally:
            self._manager.close()


class Checkpointer:
    """Latest + best-by-validation checkpoints of one run.

    All processes of a multi-host run must call every method, in the same order, with the same steps (Orbax
    coordinates the writes: every process writes the shards it owns, process 0 the metadata; the workdir must be
    on a filesystem all processes see).
    """

    def __init__(self, workdir: str, keep: int = 2):
        if keep < 1:
            raise ValueError(f"checkpoint keep must be >= 1, got {keep}")
        self.workdir = workdir
        self.keep = keep
        self.root = os.path.join(workdir, "checkpoints")
        self._open()

    def _open(self) -> None:
        self.latest = _Series(os.path.join(self.root, "latest"), self.keep, "latest")
        self.best = _Series(os.path.join(self.root, "best"), 1, "best")

    def set_aside_after(self, step: int) -> list[str]:
        """Moves the checkpoints of both series newer than ``step`` to ``checkpoints/set_aside/`` (after a resume
        from an older checkpoint because the newer ones could not be read); returns where they went."""
        moved = []
        for name, series in (("latest", self.latest), ("best", self.best)):
            for t in series.all_steps():
                if t > step:
                    dst = os.path.join(self.root, "set_aside", f"{name}-{t}")
                    while os.path.exists(dst):
                        dst += "+"
                    os.makedirs(os.path.dirname(dst), exist_ok=True)
                    try:
                        os.rename(os.path.join(self.root, name, str(t)), dst)
                    except FileNotFoundError:  # another process of the run moved it
                        continue
                    moved.append(dst)
        if moved:
            self.close()
            self._open()
        return moved

    def latest_step(self) -> int | None:
        return self.latest.latest_step()

    def save_latest(self, step: int, state: PyTree, meta: dict) -> None:
        self.latest.save(step, state, meta)

    def save_best(self, step: int, state: PyTree, meta: dict) -> None:
        self.best.save(step, state, meta)

    def restore_latest(self, abstract_state: PyTree, step: int | None = None) -> tuple[PyTree, dict] | None:
        """The newest saved state (or the one at ``step``) and its meta, or None when the workdir has none."""
        return self.latest.restore(abstract_state, step)

    def latest_steps(self) -> list[int]:
        """Steps of the kept latest checkpoints, ascending."""
        return self.latest.all_steps()

    def restore_best(self, abstract_state: PyTree) -> tuple[PyTree, dict] | None:
        return self.best.restore(abstract_state)

    def wait(self) -> None:
        """Block until asynchronous saves are on disk (both series, even when the first fails; its error is raised)."""
        try:
            self.latest.wait()
        finally:
            self.best.wait()

    def close(self) -> None:
        try:
            self.latest.close()
        finally:
            self.best.close()


class WorkdirLock:
    """A run's hold on its workdir: ``WORKDIR/run.lock`` (JSON: host, pid, start time, command).

    ``acquire()`` creates the file atomically; if another run holds it, ``acquire`` raises ``error_cls`` naming the
    holder, unless the holder is a process of this host that no longer exists (a crash, SIGKILL): then the lock
    is taken over and ``on_takeover`` gets a message. A lock held by another host cannot be checked and is
    refused. ``release()`` removes the file if this process holds it.
    """

    FILE = "run.lock"

    def __init__(self, workdir: str, error_cls: type[Exception] = RuntimeError):
        self.path = os.path.join(workdir, self.FILE)
        self.error_cls = error_cls
        self.held = False

    def _record(self) -> dict:
        import socket
        import sys
        import time

        return {
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "start_time": time.strftime("%Y-%m-%dT%H:%M:%S"),
            "command": " ".join(sys.argv),
        }

    def acquire(self, on_takeover=None) -> None:
        import json
        import socket

        record = self._record()
        for _ in range(2):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                try:
                    with open(self.path) as f:
                        holder = json.load(f)
                    if not isinstance(holder, dict):
                        raise ValueError("not a JSON object")
                except (OSError, ValueError) as err:
                    raise self.error_cls(
                        f"{self.path} is damaged ({err}); if no run uses this workdir, delete it and start again"
                    ) from None
                same_host = holder.get("host") == socket.gethostname()
                pid = holder.get("pid")
                if same_host and pid == os.getpid():
                    break  # this process already holds it (a group of runs sharing a directory)
                if same_host and isinstance(pid, int) and not _pid_alive(pid):
                    if on_takeover is not None:
                        on_takeover(
                            f"taking over the lock of {self.path}: its holder (pid {pid}, started "
                            f"{holder.get('start_time')}, `{holder.get('command')}`) no longer runs"
                        )
                    os.remove(self.path)
                    continue
                raise self.error_cls(
                    f"workdir {os.path.dirname(self.path)} is in use by another run: host {holder.get('host')}, "
                    f"pid {pid}, started {holder.get('start_time')}, command `{holder.get('command')}`. Wait for "
                    f"it to end, use another workdir, or delete {self.path} if that run is gone."
                ) from None
            with os.fdopen(fd, "w") as f:
                json.dump(record, f)
            break
        self.held = True

    def release(self) -> None:
        if self.held and os.path.exists(self.path):
            os.remove(self.path)
        self.held = False


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# ----------------------------------------------------------------------------------------------------------------
# The training loop's checkpoint logic: resume checks, the group's saver, restore-or-init with fallback to older
# checkpoints, and what to evaluate.

#: Config fields a resumed run may change (prefixes end with '.'): run length, logging, checkpoint frequency,
#: devices, where the data lives, evaluation. Any other change (method, model, data, channel, seed, optimizer, ...)
#: alters shapes or meaning and stops the resume.
SAFE_RESUME_CHANGES = (
    "name",
    "num_seeds",
    "train.num_epochs",
    "train.steps_per_call",
    "train.log_every_steps",
    "train.progress",
    "train.tensorboard",
    "train.checkpoint_every_epochs",
    "train.checkpoint_every_steps",
    "train.keep_checkpoints",
    "train.num_devices",
    "train.data_on_device",
    "train.max_device_bytes",
    "train.batch_size",
    "data.data_dir",
    "train.compact_stopped",
    "eval.",
)


def check_resume_config(config, workdir: str, step: int, record: bool = True) -> dict:
    """Compares ``config`` with the ``config.json`` of a workdir that holds checkpoints.

    A difference outside :data:`SAFE_RESUME_CHANGES` raises ``ValueError`` listing every such field with its two
    values; safe differences are returned and (``record``) appended to ``WORKDIR/config_changes.json``.
    """
    path = os.path.join(workdir, "config.json")
    if not os.path.isfile(path):
        return {}
    old = config_utils.flatten(
        config_utils.read_json_file(
            path, "restore it (it records the config the checkpoints were trained with) or use a fresh workdir"
        )
    )
    new = config_utils.flatten(json.loads(config.to_json_best_effort()))
    diffs = {
        k: (old.get(k, "<absent>"), new.get(k, "<absent>"))
        for k in sorted(set(old) | set(new))
        if old.get(k, "<absent>") != new.get(k, "<absent>")
    }

    def safe(key):
        return any(key == s or (s.endswith(".") and key.startswith(s)) for s in SAFE_RESUME_CHANGES)

    unsafe = {k: v for k, v in diffs.items() if not safe(k)}
    if unsafe:
        listing = "; ".join(f"{k}: {a!r} -> {b!r}" for k, (a, b) in unsafe.items())
        raise ValueError(
            f"workdir {workdir} holds checkpoints (step {step}) of a run whose config differs in fields "
            f"that change shapes or meaning: {listing}. Use the original values or a fresh workdir."
        )
    if diffs and record:
        log_path = os.path.join(workdir, "config_changes.json")
        history = (
            config_utils.read_json_file(log_path, "move it away (it only records past config changes)", expect=list)
            if os.path.isfile(log_path)
            else []
        )
        history.append(
            {
                "step": step,
                "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
                "changes": {k: list(v) for k, v in diffs.items()},
            }
        )
        with open(log_path, "w") as f:
            json.dump(history, f, indent=1, default=str)
    return diffs


class Saver:
    """Writes the runs' checkpoints from the group's state. Each save costs Orbax a fixed ~40-60 ms of host time,
    less for NumPy than for device arrays, which matters for groups of many small runs; so small states are saved
    from one host copy, large ones from the devices (written asynchronously)."""

    def __init__(self, ckpts, single_abstract, take: Callable):
        self.ckpts, self.take = ckpts, take
        state_bytes = sum(
            math.prod(leaf.shape) * np.dtype(leaf.dtype).itemsize for leaf in jax.tree.leaves(single_abstract)
        )
        self.from_host = state_bytes <= (1 << 20)

    def _slices(self, state: PyTree) -> Callable:
        """A function giving run ``p``'s slice of ``state``."""
        if self.from_host:
            host = distributed.to_host(state)
            return lambda p: jax.tree.map(lambda a: a[p], host)
        return lambda p: self.take(state, p)

    def save_latest(self, state: PyTree, step: int, metas: list[dict], extra: dict | None = None) -> None:
        slice_of = self._slices(state)
        for p, ck in enumerate(self.ckpts):
            if ck.latest_step() != step:
                ck.save_latest(step, slice_of(p), dict(metas[p], step=step, **(extra or {})))

    def save_best(self, state: PyTree, step: int, runs: Sequence[int], metas: list[dict]) -> None:
        slice_of = self._slices(state)
        for p in runs:
            self.ckpts[p].save_best(step, slice_of(int(p)), metas[p])


def eval_params(state, ckpts, single_abstract, take: Callable, stack: Callable, use_best: bool) -> PyTree:
    """The parameters to evaluate, ``[P, ...]``: each run's best-by-validation checkpoint, else its final state."""
    if not (use_best and any(ck.best.latest_step() is not None for ck in ckpts)):
        return state["params"]
    trees = []
    for p, ck in enumerate(ckpts):
        if ck.best.latest_step() is not None:
            trees.append(ck.restore_best(single_abstract)[0]["params"])
        else:
            trees.append(take(state, p)["params"])
    return stack(*trees)


# What the abandoned reads of an unreadable checkpoint end with: Orbax's wrapper, TensorStore's own error on a
# damaged OCDBT file, and asyncio's loop closed under them.
ABANDONED_READ_ERRORS = ("Event loop is closed", "Encountered error while reading array index", "OCDBT database")


def silence_abandoned_reads() -> None:
    """When a checkpoint read fails (reported once, with its reason, by ``restore_or_init``), the reads of that
    checkpoint still in flight in TensorStore's threads end with "Event loop is closed" or a read error, printed
    as a traceback by ``sys.unraisablehook``, logged by asyncio ("Task/Future exception was never retrieved") or
    warned about ("coroutine '_read_array_index_and_device_put' was never awaited"); drop those (and only those)
    for the rest of the process. Installed before the first read: the abandoned reads can end, and be logged,
    before the failure reaches the caller."""
    previous = sys.unraisablehook
    if getattr(previous, "_drops_abandoned_reads", False):
        return

    def hook(unraisable):
        if any(text in str(unraisable.exc_value) for text in ABANDONED_READ_ERRORS):
            return
        previous(unraisable)

    hook._drops_abandoned_reads = True
    sys.unraisablehook = hook

    def drop(record: logging.LogRecord) -> bool:  # asyncio's "... exception was never retrieved" of those reads
        text = record.getMessage() + (str(record.exc_info[1]) if record.exc_info else "")
        return not any(t in text for t in ABANDONED_READ_ERRORS)

    logging.getLogger("asyncio").addFilter(drop)
    warnings.filterwarnings(
        "ignore", message="coroutine '_read_array_index_and_device_put' was never awaited", category=RuntimeWarning
    )


def set_aside_newer(ckpts, step: int, unreadable: bool = False) -> None:
    """Checkpoints newer than the step a group starts from were written by a process that died before the others
    of that step were committed (SIGKILL between a run's best and latest writes, or between two runs' writes), or
    could not be read: the group will write those steps again, so they are set aside (``checkpoints/set_aside/``)
    with a message instead of colliding with the new ones."""
    for ck in ckpts:
        if any(t > step for t in ck.best.all_steps() + ck.latest_steps()):
            for path in ck.set_aside_after(step):
                why = "unreadable, or newer" if unreadable else "newer"
                print(f"set aside {path}: {why} than step {step}, where the run starts", file=sys.stderr, flush=True)


def restore_or_init(ckpts, workdirs, single_abstract, init_fn, stack, streams, example, sched, batch_size):
    """The group's state (fresh, or restored at the newest step every run has) and per-run metas."""
    steps = [set(ck.latest_steps()) for ck in ckpts]
    fresh_meta = {
        "best_valid": math.inf,
        "best_step": -1,
        "steps_per_epoch": sched.steps_per_epoch,
        "batch_size": batch_size,
    }
    if not any(steps):
        set_aside_newer(ckpts, 0)
        return init_fn(streams["init"], example), [dict(fresh_meta) for _ in ckpts]
    common = set.intersection(*steps)
    if not common:
        have = {w: sorted(s) for w, s in zip(workdirs, steps)}
        raise ValueError(
            f"the runs of this group hold no checkpoint at a common step ({have}); a group resumes "
            f"only from a step every run saved: use the original group or fresh workdirs"
        )
    failures = []
    silence_abandoned_reads()
    for step in sorted(common, reverse=True):
        try:
            restored = [ck.restore_latest(single_abstract, step) for ck in ckpts]
        except Exception as err:
            reason = " ".join(str(err).split("See full TensorStore details")[0].split())[:300]
            failures.append(f"step {step}: {type(err).__name__}: {reason}")
            print(
                f"checkpoint at step {step} of {', '.join(workdirs)} cannot be read ({type(err).__name__}: "
                f"{reason}); trying the next older one",
                file=sys.stderr,
                flush=True,
            )
            continue
        break
    else:
        raise CheckpointError(
            f"no checkpoint of {', '.join(workdirs)} can be read: "
            + "; ".join(failures)
            + ". Move the damaged checkpoints away (or use a fresh workdir) to start over."
        )
    set_aside_newer(ckpts, step, unreadable=bool(failures))
    trees, metas = [], []
    for ck, (tree, meta) in zip(ckpts, restored):
        meta.pop("preempted", None)
        trees.append(tree)
        metas.append(dict(fresh_meta, **{k: v for k, v in meta.items() if k not in ("steps_per_epoch", "batch_size")}))
        old = (meta.get("steps_per_epoch"), meta.get("batch_size"))
        if (
            sched.steps_per_epoch
            and step < sched.total_steps
            and step not in sched.blocks
            and old != (sched.steps_per_epoch, batch_size)
        ):
            # A mid-epoch checkpoint (written on preemption) resumes only with the batches it was cut from.
            raise ValueError(
                f"workdir {ck.workdir} holds a checkpoint at step {step}, which is not an epoch "
                f"boundary for {sched.steps_per_epoch} steps per epoch of batch size {batch_size} "
                f"(the checkpoint has {old[0]} of batch size {old[1]}); use the original batch size "
                f"and training set, or a fresh workdir"
            )
    return stack(*trees), metas


class CheckpointError(RuntimeError):
    """Raised when a workdir holds checkpoints but none of them can be read."""
