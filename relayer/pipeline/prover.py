"""Proving the chains of a round in parallel: a pool of worker processes, each holding the proving
key and the built circuit once (numba's parallel kernels are not safe to call from several threads
of one process, so parallel chains need processes). `workers=0` proves in this process, one chain
after another (tests, the reference backend). Every proof is verified where it is made (the prover
does it) and again by the caller before anything is signed. The backend is resolved once, in the
parent, when the prover is built: `gpu` without a device fails there, before any round starts.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from relayer.aggregate.bundle import ChainProof
from relayer.circuits.solvency import ChainContext
from relayer.errors import ProverError, RelayerError
from relayer.keys_setup import SolvencyKeys, load_solvency_keys, solvency_circuit
from relayer.risk.ledger import Book
from relayer.risk.market import MarketData

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProveJob:
    chain_id: int
    context: ChainContext
    book: Book
    market: MarketData
    expected_public: tuple[int, ...]


# per-process state of a worker (and of the parent in workers=0 mode)
_STATE: dict[str, Any] = {}


def _init_worker(key_dir: str, backend: str) -> None:
    # workers log through the parent's level only for warnings; progress is reported by the parent
    logging.basicConfig(level=logging.WARNING)
    keys = load_solvency_keys(Path(key_dir))
    _setup_state(keys, backend)


def _setup_state(keys: SolvencyKeys, backend: str) -> None:
    from relayer.zk.backends import get_backend

    _ = keys.pk  # load now: the first proof should not pay for it
    _STATE.update(keys=keys, backend=get_backend(backend), circuit=solvency_circuit(keys.spec.capacity))


def _prove(job: ProveJob) -> ChainProof:
    from relayer.zk.groth16.prover import prove

    keys: SolvencyKeys = _STATE["keys"]
    circuit = _STATE["circuit"]
    backend = _STATE["backend"]
    t0 = time.perf_counter()
    inputs = circuit.inputs(job.context, job.book, job.market)
    witness = circuit.witness(inputs)
    proof, public = prove(keys.pk, witness, backend)
    if tuple(int(x) for x in public) != job.expected_public:
        raise ProverError(f"chain {job.chain_id}: the circuit's public outputs differ from the natively computed "
                          "statement (evaluator, tree, commitment); refusing the proof")
    return ChainProof(job.chain_id, proof, tuple(int(x) for x in public), backend.name, time.perf_counter() - t0)


def resolve_backend(name: str) -> str:
    """The concrete backend `name` gives on this machine ('auto' decided, logging why), checked
    usable here: BackendUnavailable (e.g. `gpu` without CUDA) or ProverError (unknown name)."""
    from relayer.zk.backends import get_backend

    # the full get_backend, not only check_available: the gpu backend's device self-check runs when
    # it is made, and a failing one must fail here too (and make `auto` choose cpu, as it would)
    return get_backend(name).name


class ChainProver:
    """Proves jobs in parallel (`workers` processes) or in-process (`workers=0`)."""

    def __init__(self, keys: SolvencyKeys, backend: str = "cpu", workers: int | None = None) -> None:
        self.keys = keys
        self.workers = min(3, os.cpu_count() or 1) if workers is None else workers
        self._pool: ProcessPoolExecutor | None = None
        # Decided here, once: a backend a worker cannot load would break the pool at the first job of
        # the first round (after its snapshot, as a failed round), once per worker; and with `auto`
        # each worker would decide on its own. The workers get the concrete name.
        self.backend_name = resolve_backend(backend)
        if self.workers <= 0:
            _setup_state(keys, self.backend_name)

    def _get_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            # spawn, not fork: the parent runs scheduler and HTTP threads that a fork would copy mid-state
            ctx = multiprocessing.get_context("spawn")
            self._pool = ProcessPoolExecutor(self.workers, mp_context=ctx, initializer=_init_worker,
                                             initargs=(str(self.keys.path), self.backend_name))
        return self._pool

    def prove_all(self, jobs: Sequence[ProveJob],
                  on_done: Callable[[ChainProof], None] | None = None) -> dict[int, ChainProof | RelayerError]:
        """chain id -> its proof, or the RelayerError that stopped it (one chain's failure does not
        discard the others' proofs)."""
        out: dict[int, ChainProof | RelayerError] = {}
        if self.workers <= 0:
            for j in jobs:
                try:
                    out[j.chain_id] = _prove(j)
                    if on_done:
                        on_done(out[j.chain_id])  # type: ignore[arg-type]
                except RelayerError as exc:
                    out[j.chain_id] = exc
            return out
        pool = self._get_pool()
        futures: dict[int, Future[ChainProof]] = {j.chain_id: pool.submit(_prove, j) for j in jobs}
        for cid, fut in futures.items():
            try:
                out[cid] = fut.result()
                if on_done:
                    on_done(out[cid])  # type: ignore[arg-type]
            except RelayerError as exc:
                out[cid] = exc
            except Exception as exc:  # a worker that died (BrokenProcessPool) or a bug in it
                self.close()
                out[cid] = ProverError(f"chain {cid}: prover worker failed: {exc!r}")
        return out

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None


__all__ = ["ChainProver", "ProveJob", "resolve_backend"]
