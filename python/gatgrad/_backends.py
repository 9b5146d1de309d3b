"""Where a program's generated code is: compiled into the extension ``gatgrad._gatgrad``, or in
an extension module of its own built on first use of a ``.gat`` file (through gatgrad's on-demand
cache, ``GATGRAD_CACHE_DIR``) and imported from the cache with ``importlib``. Only Python objects
cross between the two libraries."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import sys
import sysconfig
import threading
from pathlib import Path

from . import _gatgrad as _ext

# The name the operators receive (`model`) → (extension module, program name inside it). Programs
# compiled into the extension are found by their own names; a module built on first use is added
# as `built:<module name>/<program name>` when a `Layer` loads it.
_BACKENDS: dict = {}
_BACKENDS_LOCK = threading.Lock()


def _backend(model: str):
    hit = _BACKENDS.get(model)
    if hit is not None:
        return hit
    if model.startswith("built:"):
        raise RuntimeError(
            f"gatgrad: the program `{model}` was built on first use by a Layer in another "
            "process; construct the Layer in this process first"
        )
    return _ext, model


def _load_built(paths: list) -> list:
    """Builds (or finds in the cache) one extension module holding the programs of the ``.gat``
    files at ``paths``, imports it and returns the operators' name of each program."""
    abi = f"{sys.version} {sysconfig.get_config_var('EXT_SUFFIX')} {sys.implementation.cache_tag}"
    # What maturin tells pyo3's build script (`pip install ./python`), so that a shared target
    # folder's pyo3 built by maturin is reused rather than rebuilt for a different environment.
    bits = 64 if sys.maxsize > 2**32 else 32
    signature = f"{sys.implementation.name}-{sys.version_info[0]}.{sys.version_info[1]}-{bits}bit"
    built = _ext.build_program(
        [str(p) for p in paths],
        sys.executable,
        abi,
        [("PYO3_ENVIRONMENT_SIGNATURE", signature)],
        lambda line: print(line, file=sys.stderr, flush=True),
    )
    models = [f"built:{built['module']}/{program}" for program in built["programs"]]
    with _BACKENDS_LOCK:
        if models[0] not in _BACKENDS:
            lib = str(built["path"])
            loader = importlib.machinery.ExtensionFileLoader(built["module"], lib)
            spec = importlib.util.spec_from_file_location(built["module"], lib, loader=loader)
            module = importlib.util.module_from_spec(spec)
            loader.exec_module(module)
            for model, program in zip(models, built["programs"]):
                _BACKENDS[model] = (module, program)
    return models


def _model_of_file(path: Path) -> str:
    """The operators' name for the program of the ``.gat`` file at ``path``: a compiled-in
    program's name, else the module built for it on first use."""
    model = _ext.model_for_file(str(path))
    return model if model is not None else _load_built([path])[0]
