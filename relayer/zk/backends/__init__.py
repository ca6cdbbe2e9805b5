"""Prover backends, registered by name: `reference` (py_ecc), `cpu` (numba), `gpu` (CuPy).

`get_backend(name)` returns an instance; `auto` picks `gpu` when usable, else `cpu`, and logs why.
Asking for `gpu` where it cannot run raises BackendUnavailable (never a silent fallback).
"""

from __future__ import annotations

import importlib
import logging

from relayer.errors import BackendUnavailable, ProverError
from relayer.zk.backends.base import ProverBackend

log = logging.getLogger(__name__)

# name -> (module, class); modules are imported only when the backend is asked for, so that CuPy
# is never imported unless `gpu` (or `auto`) is chosen.
_REGISTRY: dict[str, tuple[str, str]] = {
    "reference": ("relayer.zk.backends.reference", "ReferenceBackend"),
    "cpu": ("relayer.zk.backends.cpu", "CpuBackend"),
    "gpu": ("relayer.zk.backends.gpu", "GpuBackend"),
}

_INSTANCES: dict[str, ProverBackend] = {}

BACKEND_NAMES = ("reference", "cpu", "gpu", "auto")


def _load(name: str) -> ProverBackend:
    if name in _INSTANCES:
        return _INSTANCES[name]
    module, cls = _REGISTRY[name]
    backend_cls = getattr(importlib.import_module(module), cls)
    backend_cls.check_available()  # raises BackendUnavailable with an install hint
    inst = backend_cls()
    _INSTANCES[name] = inst
    return inst


def get_backend(name: str = "cpu") -> ProverBackend:
    if name == "auto":
        try:
            backend = _load("gpu")
        except BackendUnavailable as exc:
            log.info("prover backend auto: chose cpu (gpu not usable: %s)", exc)
            return _load("cpu")
        log.info("prover backend auto: chose gpu (%s)", backend.describe())
        return backend
    if name not in _REGISTRY:
        raise ProverError(f"unknown prover backend {name!r}; choose one of {', '.join(BACKEND_NAMES)}")
    return _load(name)
