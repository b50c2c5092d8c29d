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

import os
from typing import Any

import orbax.checkpoint as ocp

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
            max_to_keep=keep, create=True,
            multiprocessing_options=ocp.options.MultiprocessingOptions(barrier_sync_key_prefix=f"nc_{name}"))
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
                force=True)
        except Exception as err:  # noqa: BLE001 - any failed write (also an earlier asynchronous one) is reported
            raise self._write_error(f"step {int(step)}", err) from err

    def _write_error(self, what: str, err: BaseException) -> CheckpointWriteError:
        kept = self.all_steps()
        return CheckpointWriteError(
            f"writing the checkpoint ({what}) in {self.directory} failed: {type(err).__name__}: {err}; "
            f"the checkpoints written before are kept ({'steps ' + ', '.join(map(str, kept)) if kept else 'none'}): "
            f"free space or fix the permissions, then rerun the same command to resume")

    def restore(self, abstract_state: PyTree, step: int | None = None) -> tuple[PyTree, dict] | None:
        step = self._manager.latest_step() if step is None else step
        if step is None:
            return None
        restored = self._manager.restore(
            step,
            args=ocp.args.Composite(
                state=ocp.args.StandardRestore(abstract_state), meta=ocp.args.JsonRestore()))
        return restored["state"], dict(restored["meta"])

    def wait(self) -> None:
        try:
            self._manager.wait_until_finished()
        except Exception as err:  # noqa: BLE001 - an asynchronous write failed
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
                    except FileNotFoundError:     # another process of the run moved it
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

        return {"host": socket.gethostname(), "pid": os.getpid(),
                "start_time": time.strftime("%Y-%m-%dT%H:%M:%S"), "command": " ".join(sys.argv)}

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
                except (OSError, ValueError):
                    holder = {}
                same_host = holder.get("host") == socket.gethostname()
                pid = holder.get("pid")
                if same_host and pid == os.getpid():
                    break                  # this process already holds it (a group of runs sharing a directory)
                if same_host and isinstance(pid, int) and not _pid_alive(pid):
                    if on_takeover is not None:
                        on_takeover(f"taking over the lock of {self.path}: its holder (pid {pid}, started "
                                    f"{holder.get('start_time')}, `{holder.get('command')}`) no longer runs")
                    os.remove(self.path)
                    continue
                raise self.error_cls(
                    f"workdir {os.path.dirname(self.path)} is in use by another run: host {holder.get('host')}, "
                    f"pid {pid}, started {holder.get('start_time')}, command `{holder.get('command')}`. Wait for "
                    f"it to end, use another workdir, or delete {self.path} if that run is gone.") from None
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
