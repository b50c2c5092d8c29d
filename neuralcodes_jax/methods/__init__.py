"""Methods: one module per paper method. ``build(config, data_shape, is_binary)`` picks one by ``config.method``.

To add a method: write ``methods/<name>.py`` with a class following ``methods/base.Method`` and a
``build(config, data_shape, is_binary)`` function, then add it to ``_BUILDERS`` below.
"""

from __future__ import annotations

from neuralcodes_jax.methods import iabf
from neuralcodes_jax.methods import necst
from neuralcodes_jax.methods import vae

_BUILDERS = {
    "necst": necst.build,
    "iabf": iabf.build,
    "vae": vae.build,
}


def build(config, data_shape, is_binary):
    name = config.method
    if name not in _BUILDERS:
        raise ValueError(f"method must be one of {sorted(_BUILDERS)}, got {name!r}")
    return _BUILDERS[name](config, tuple(data_shape), is_binary)
