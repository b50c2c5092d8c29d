"""The training batches of a chunk: ``xs [runs, S, B, ...]`` gathered from the training set by each run's epoch
permutation ``permutation(fold_in(data_p, epoch))``, on device or on the host (``train.data_on_device``)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

from neuralcodes_jax import distributed
from neuralcodes_jax.distributed import DATA_AXIS, POINTS_AXIS
from neuralcodes_jax.schedule import Schedule, stage_start


def make_gather(mesh, batch_size: int, num_steps: int):
    """Device-side batch gathering: ``xs[p, s, b] = train_x[perm[p, offset + s * B + b]]``."""
    out = NamedSharding(mesh, P(POINTS_AXIS, None, DATA_AXIS))

    def gather(train_x, perms, offset):
        idx = jax.lax.dynamic_slice_in_dim(perms, offset, num_steps * batch_size, axis=1)
        xs = jnp.take(train_x, idx.reshape(-1), axis=0)
        return xs.reshape((perms.shape[0], num_steps, batch_size) + train_x.shape[1:])

    return jax.jit(gather, out_shardings=out)


def epoch_permutation(data_key: jax.Array, epoch: int, n: int) -> jax.Array:
    return jax.random.permutation(jax.random.fold_in(data_key, epoch), n)


class Feed:
    """The chunks' training batches ``xs [len(runs), S, B, ...]``: run p's batches of an epoch are the training set
    in the order of ``permutation(fold_in(data_p, epoch))``. With ``train.data_on_device`` 'always' (or 'auto' and
    a set of at most ``train.max_device_bytes``) the set is placed once on each mesh's devices and gathered there;
    otherwise each process gathers the batch rows of its own devices on the host."""

    def __init__(self, train_cfg, splits, sched: Schedule, batch_size: int, data_keys: jax.Array, pts):
        on_device = train_cfg.data_on_device
        if on_device == "auto":
            on_device = "always" if splits.train.nbytes <= train_cfg.max_device_bytes else "never"
        self.on_device = on_device == "always"
        self.splits, self.sched, self.batch_size, self.data_keys = splits, sched, batch_size, data_keys
        n_train = splits.train.shape[0]
        self.perms_fn = jax.jit(
            jax.vmap(lambda k, e: epoch_permutation(k, e, n_train), in_axes=(0, None)), out_shardings=pts
        )
        self.epoch = None
        self.perms = self.perm_host = None
        self.x_on: dict[tuple, jax.Array] = {}  # the training set on each mesh's devices

    def __call__(self, runs, step: int, stage: int, n_steps: int) -> jax.Array:
        sched, batch_size = self.sched, self.batch_size
        epoch = (step - stage_start(sched, stage)) // sched.steps_per_epoch
        if self.epoch != epoch:
            self.perms = self.perms_fn(self.data_keys, epoch)
            self.perm_host = None if self.on_device else np.asarray(distributed.to_host(self.perms))
            self.epoch = epoch
        offset = ((step - stage_start(sched, stage)) % sched.steps_per_epoch) * batch_size
        if self.on_device:
            where = (tuple(d.id for d in runs.mesh.devices.flat), runs.mesh.devices.shape)
            if where not in self.x_on:
                self.x_on[where] = distributed.put_replicated(self.splits.train, runs.mesh)
            if n_steps not in runs.gathers:
                runs.gathers[n_steps] = make_gather(runs.mesh, batch_size, n_steps)
            return runs.gathers[n_steps](self.x_on[where], runs.take(self.perms), offset)
        # Each process gathers only the batch rows of its own devices.
        global_shape = (len(runs.idx), n_steps, batch_size) + tuple(self.splits.shape)
        rows = distributed.local_rows(runs.batch_sharding, global_shape, 2)
        idx = self.perm_host[runs.idx, offset : offset + n_steps * batch_size].reshape(
            len(runs.idx), n_steps, batch_size
        )
        return distributed.put_global(self.splits.train[idx[:, :, rows]], runs.batch_sharding, global_shape)
