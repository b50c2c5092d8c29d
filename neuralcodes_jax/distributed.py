"""Multi-process (multi-host) runs: start-up, per-process input slices, and an agreed stop on preemption.

JAX runs one Python process per host (multi-controller). Every process executes the same jitted programs in the same
order over one global mesh; a process can only address its own devices and supplies the data of those devices only.
This module holds the few pieces the trainer needs for that:

* ``initialize``: ``jax.distributed.initialize`` with argument checks (no arguments on Cloud TPU, Slurm, Open MPI;
  coordinator address, process count and process id for a manual cluster, e.g. several processes on one machine).
* ``local_rows`` / ``put_global`` / ``put_replicated``: build global ``jax.Array`` s from what each process holds.
  A batch sharded along an axis is built from this process's rows only (``jax.make_array_from_process_local_data``);
  a replicated array (the device-resident training set) from this process's full copy, with no traffic between
  processes. In a single-process run these give exactly what ``jax.device_put`` gives. ``to_host`` brings a
  sharded result back whole to every process.
* ``StopSignals``: SIGTERM / SIGINT become a stop request that the training loop checks at step-chunk boundaries;
  ``agreed()`` ORs the requests of all processes, so every process stops after the same step.

Why not Orbax's ``CheckpointManager.reached_preemption(step)``: it forwards to JAX's preemption sync manager
(``multihost_utils.reached_preemption_sync_point``), which exists only in ``jax.distributed`` runs (so a
single-process run never sees the signal), handles SIGTERM only, and picks the stop point as "largest call counter
reported by any process + 1", returning True only when called with exactly that value. The trainer reaches the host
once per chunk of S scanned steps, so passing the training step (as ``reached_preemption(step)`` does) skips the
sync point whenever S > 1. One tiny all-gather of a flag per chunk (multi-process runs only; the chunk's metrics are
read on the host at the same point anyway) works the same with one process or many, for SIGTERM and SIGINT.
Note that JAX's preemption notifier catches SIGTERM in multi-process runs and does not stop the process;
``StopSignals`` replaces that handler while training runs. A SIGTERM that arrives before the training loop (data
loading, restore, compilation) is therefore swallowed in multi-process runs and kills a single-process run; either
way nothing saved is lost (the newest checkpoint is the one just restored).
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable, Sequence

import jax
import numpy as np
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

# ----------------------------------------------------------------------------------------------------------------
# Start-up.


def initialize(
    coordinator_address: str | None = None,
    num_processes: int | None = None,
    process_id: int | None = None,
    local_device_ids: Sequence[int] | None = None,
) -> None:
    """Connect this process to the others (``jax.distributed.initialize``); call before JAX touches a device.

    With no arguments JAX detects the cluster (Cloud TPU, Slurm, Open MPI, ...). For a manual cluster pass
    ``coordinator_address`` ("host:port" of process 0, which runs the coordinator), ``num_processes`` and this
    process's ``process_id`` in [0, num_processes). ``local_device_ids`` restricts the devices this process uses
    (e.g. one GPU per process). On CPU, cross-process collectives go through Gloo over TCP.
    """
    if num_processes is not None and num_processes < 1:
        raise ValueError(f"num_processes must be >= 1, got {num_processes}")
    if process_id is not None:
        if process_id < 0:
            raise ValueError(f"process_id must be >= 0, got {process_id}")
        if num_processes is not None and process_id >= num_processes:
            raise ValueError(f"process_id must be in [0, num_processes={num_processes}), got {process_id}")
    if coordinator_address is not None and ":" not in coordinator_address:
        raise ValueError(f"coordinator_address must be 'host:port', got {coordinator_address!r}")
    try:  # CPU collectives: Gloo is JAX's default; make sure an unset flag does not leave them disabled.
        if not jax.config.jax_cpu_collectives_implementation:
            jax.config.update("jax_cpu_collectives_implementation", "gloo")
    except AttributeError:
        pass
    kwargs = {}
    if local_device_ids is not None:
        kwargs["local_device_ids"] = [int(i) for i in local_device_ids]
    jax.distributed.initialize(
        coordinator_address=coordinator_address, num_processes=num_processes, process_id=process_id, **kwargs
    )


def use_cpu_cores(num_devices: int = 0) -> int:
    """Expose ``num_devices`` CPU devices (0: one per core) so that sharded independent programs use every core.

    On a CPU-only machine a vmapped sweep group (the points split over the devices, no communication) runs
    faster split over one CPU device per core than on one device (1.2x for IABF runs on 2 cores; one device's
    program uses every core in its large matmuls only); a run's batch is not split over them
    (``train.split_batches``). Call before JAX initializes its backends (first in a launcher's ``main``).
    Leaves alone a device count already given in ``XLA_FLAGS`` (``--xla_force_host_platform_device_count``) or
    by ``jax_num_cpu_devices``; hosts with an accelerator are unaffected (their default backend is the
    accelerator). Returns the CPU device count requested, or 0 when nothing was changed.
    """
    if num_devices < 0:
        raise ValueError(f"cpu_devices must be >= 0 (0: one per core), got {num_devices}")
    if "xla_force_host_platform_device_count" in os.environ.get("XLA_FLAGS", ""):
        return 0
    current = getattr(jax.config, "jax_num_cpu_devices", None)
    if current is None or current > 0:
        return 0
    count = num_devices or (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count())
    try:
        jax.config.update("jax_num_cpu_devices", int(count))
    except RuntimeError as err:
        raise RuntimeError(
            "use_cpu_cores must run before JAX initializes its backends (before any JAX operation)"
        ) from err
    return int(count)


def is_main_process() -> bool:
    """Process 0 writes the run's files (metrics, TensorBoard, evaluation reports)."""
    return jax.process_index() == 0


# ----------------------------------------------------------------------------------------------------------------
# Global arrays from per-process data.


def local_rows(sharding: jax.sharding.Sharding, global_shape: tuple[int, ...], axis: int) -> np.ndarray:
    """Indices along ``axis`` of the global array that this process's devices hold, ascending.

    For the usual batch sharding over a process-contiguous device order this is one contiguous range, of length
    ``global_shape[axis] * local_device_count / device_count``. ``put_global`` expects the process-local data in
    this order.
    """
    rows: set[int] = set()
    size = global_shape[axis]
    for index in sharding.addressable_devices_indices_map(tuple(global_shape)).values():
        sl = index[axis] if index is not None else slice(None)
        rows.update(range(*sl.indices(size)))
    return np.asarray(sorted(rows), dtype=np.int64)


def put_global(local_data: np.ndarray, sharding: jax.sharding.Sharding, global_shape: tuple[int, ...]) -> jax.Array:
    """A global array of ``global_shape`` whose rows on this process's devices are ``local_data``.

    ``local_data`` holds, along each sharded axis, the rows ``local_rows(sharding, global_shape, axis)`` (all rows
    along replicated axes). Nothing is sent between processes.
    """
    return jax.make_array_from_process_local_data(sharding, np.asarray(local_data), tuple(global_shape))


def put_replicated(x: np.ndarray, mesh: jax.sharding.Mesh) -> jax.Array:
    """``x`` (the same on every process) replicated on every device of ``mesh``, each process copying its own.

    Unlike ``jax.device_put`` onto a multi-process sharding, this does not all-gather ``x`` to check that the
    processes agree.
    """
    x = np.asarray(x)
    return jax.make_array_from_callback(x.shape, NamedSharding(mesh, P()), lambda index: x[index])


def to_host(tree):
    """numpy copies of the (global) arrays of ``tree``, whole on every process.

    Single-process: ``np.asarray``. Multi-process: arrays sharded over other processes' devices are all-gathered
    first (a collective: every process must call it).
    """
    if jax.process_count() == 1:
        return jax.tree.map(np.asarray, tree)
    from jax.experimental import multihost_utils

    def leaf(a):
        if isinstance(a, jax.Array) and not a.is_fully_addressable and not a.is_fully_replicated:
            return multihost_utils.process_allgather(a, tiled=True)
        return np.asarray(a)

    return jax.tree.map(leaf, tree)


# ----------------------------------------------------------------------------------------------------------------
# Preemption.


class StopSignals:
    """Turn SIGTERM (and SIGINT) into a stop request that the training loop acts on at a chunk boundary.

    Use as a context manager around the training loop; the previous handlers come back on exit. Handlers can only be
    installed from the main thread; elsewhere the object still works through ``request()``. A second SIGINT (Ctrl-C
    pressed twice) gets the previous behaviour (``KeyboardInterrupt``).
    """

    def __init__(
        self, signals: Sequence[int] = (signal.SIGTERM, signal.SIGINT), message: Callable[[int], str] | None = None
    ):
        self._signals = tuple(signals)
        self._previous: dict[int, object] = {}
        self._message = message
        self.signum: int | None = None
        self._requested = False

    def __enter__(self) -> StopSignals:
        if threading.current_thread() is threading.main_thread():
            for s in self._signals:
                self._previous[s] = signal.signal(s, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        for s, handler in self._previous.items():
            # None: the previous handler was not installed from Python (e.g. JAX's preemption notifier); the
            # process is about to finish training, so the default action is the sensible one to leave behind.
            signal.signal(s, handler if handler is not None else signal.SIG_DFL)
        self._previous.clear()

    def _handle(self, signum, frame) -> None:
        first = not self._requested
        self._requested = True
        if self.signum is None:
            self.signum = signum
        if signum == signal.SIGINT and signum in self._previous:
            previous = self._previous.pop(signum)
            signal.signal(signum, previous if previous is not None else signal.default_int_handler)
        if first:
            text = (
                self._message(signum)
                if self._message is not None
                else f"received {signal.Signals(signum).name}: stopping at the next step-chunk boundary"
            )
            os.write(2, (text + "\n").encode())  # async-signal-safe, unlike print

    def request(self) -> None:
        """Ask for a stop from code (as a signal would)."""
        self._requested = True

    @property
    def requested(self) -> bool:
        """This process was asked to stop (not yet agreed with the others)."""
        return self._requested

    def agreed(self) -> bool:
        """True on every process once any process was asked to stop.

        In a multi-process run this is a collective (an all-gather of one int per process): every process must call
        it at the same points of the program, which the training loop does at each chunk boundary.
        """
        if jax.process_count() == 1:
            return self._requested
        from jax.experimental import multihost_utils

        flags = multihost_utils.process_allgather(np.int32(self._requested))
        return bool(np.any(flags))


# ----------------------------------------------------------------------------------------------------------------
# The training loop's mesh: ('points', 'data').

POINTS_AXIS = "points"
DATA_AXIS = "data"


def make_mesh(num_points: int = 1, num_devices: int = 0, split_batch: bool = True) -> jax.sharding.Mesh:
    """A 2-D ``('points', 'data')`` mesh over the first ``num_devices`` global devices (0 = all).

    The points axis is the largest divisor of ``num_points`` that divides the device count (runs never
    communicate, so they split over devices first); the rest is the data axis. One run: ``(1, devices)``, plain
    data parallelism. A multi-process mesh keeps the points axis at 1. ``split_batch=False`` (single process, no
    ``num_devices``): only the devices the runs split over, the largest divisor of ``num_points`` not above the
    device count; no run's batch is split (:func:`split_batches`).
    """
    devices = jax.devices()
    if num_devices < 0 or num_devices > len(devices):
        raise ValueError(f"train.num_devices must be in [0, {len(devices)}] (0 = all devices), got {num_devices}")
    if jax.process_count() > 1 and num_devices not in (0, len(devices)):
        raise ValueError(
            f"train.num_devices must be 0 or {len(devices)} (all devices) in a run of "
            f"{jax.process_count()} processes, got {num_devices}"
        )
    if not split_batch and not num_devices and jax.process_count() == 1:
        num_devices = max(k for k in range(1, len(devices) + 1) if num_points % k == 0)
    devices = devices[:num_devices] if num_devices else devices
    d = len(devices)
    p = 1
    if jax.process_count() == 1:
        p = max(k for k in range(1, d + 1) if num_points % k == 0 and d % k == 0)
    return jax.sharding.Mesh(np.asarray(devices).reshape(p, d // p), (POINTS_AXIS, DATA_AXIS))


def split_batches(num_devices: int = 0) -> bool:
    """Whether a run's batches are split over devices when ``train.num_devices`` is ``num_devices``: always on
    accelerators and across processes or when devices are asked for, not with the CPU devices of one process
    (``distributed.use_cpu_cores``: they share the same cores, and one device's program already uses them all;
    splitting an IABF step's batch of 100 over 2 CPU devices of a 2-core machine made it about 2x slower, while
    splitting the runs of a group over them is 1.2x faster than one device; ``results/train_throughput.md``)."""
    return bool(num_devices) or jax.process_count() > 1 or any(d.platform != "cpu" for d in jax.devices())


def replicated(mesh) -> NamedSharding:
    return NamedSharding(mesh, P())


def on_points(mesh) -> NamedSharding:
    return NamedSharding(mesh, P(POINTS_AXIS))


def check_batch_size(batch_size: int, mesh, field: str = "train.batch_size") -> None:
    n = mesh.shape[DATA_AXIS]
    if batch_size < 1 or batch_size % n:
        raise ValueError(
            f"{field} must be a positive multiple of the data-parallel device count ({n}), got {batch_size}"
        )
