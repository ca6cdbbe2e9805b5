"""The prover backend is chosen once, in the parent, when the chain prover is built: `gpu` where it
cannot run is a BackendUnavailable there, with prover workers or without, and no worker process is
started; `auto` decides there (cpu when gpu is unusable, logging why) and the workers prove with it."""

from __future__ import annotations

import logging
import multiprocessing
from pathlib import Path

import pytest
from eth_utils import keccak

from relayer.aggregate.bundle import ChainProof
from relayer.circuits.solvency import Capacity, ChainContext, expected_public
from relayer.errors import BackendUnavailable, ProverError
from relayer.keys_setup import CircuitSpec, load_solvency_keys, setup_solvency_keys
from relayer.pipeline.prover import ChainProver, ProveJob, resolve_backend
from relayer.risk.market import compact_grid, compute_market_data
from relayer.risk.synthetic import default_instruments, default_market_inputs, generate_book

CAP = Capacity(accounts=2, instruments=4, scenarios=2)
T = 1_767_225_600


def gpu_usable() -> bool:
    try:
        resolve_backend("gpu")
    except BackendUnavailable:
        return False
    return True


needs_no_gpu = pytest.mark.skipif("gpu_usable()", reason="a usable GPU is present: gpu is not refused here")


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    d: Path = tmp_path_factory.mktemp("tiny-keys")
    setup_solvency_keys(d, CircuitSpec(CAP))
    return load_solvency_keys(d)


def job(chain_id: int) -> ProveJob:
    ins = default_instruments(valuation_time=T)
    inputs = default_market_inputs(valuation_time=T)
    grid = compact_grid(CAP.scenarios)
    book = generate_book(chain_id, 2, 1, instruments=ins, inputs=inputs, grid=grid)
    md = compute_market_data(book.instruments, inputs, grid)
    ctx = ChainContext(chain_id, 100, keccak(str(chain_id).encode()), 5 * 10**12, 1)
    return ProveJob(chain_id, ctx, book, md, tuple(expected_public(ctx, book, md, CAP)))


@needs_no_gpu
@pytest.mark.parametrize("workers", [2, 0, None])
def test_gpu_without_a_device_is_refused_when_the_prover_is_built(keys, workers) -> None:  # type: ignore[no-untyped-def]
    before = set(multiprocessing.active_children())
    with pytest.raises(BackendUnavailable, match="choose --prover cpu"):
        ChainProver(keys, "gpu", workers=workers)
    # refused in this process: no worker was spawned to find it out (and break its pool)
    assert set(multiprocessing.active_children()) == before


def test_an_unknown_backend_is_refused_when_the_prover_is_built(keys) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ProverError, match="unknown prover backend 'cuda'"):
        ChainProver(keys, "cuda", workers=2)


@needs_no_gpu
def test_auto_chooses_cpu_once_and_the_workers_prove_with_it(keys, caplog) -> None:  # type: ignore[no-untyped-def]
    with caplog.at_level(logging.INFO, logger="relayer.zk.backends"):
        prover = ChainProver(keys, "auto", workers=2)
    # decided here, with the reason logged; the workers get the concrete name, not "auto"
    assert prover.backend_name == "cpu"
    assert any("auto: chose cpu (gpu not usable" in r.getMessage() for r in caplog.records)
    try:
        res = prover.prove_all([job(31337), job(31338)])
    finally:
        prover.close()
    assert set(res) == {31337, 31338}
    for cid, proof in res.items():
        assert isinstance(proof, ChainProof), proof
        assert proof.backend == "cpu"
        assert proof.public == job(cid).expected_public


def test_auto_in_process_proves_too(keys) -> None:  # type: ignore[no-untyped-def]
    prover = ChainProver(keys, "auto", workers=0)
    assert prover.backend_name in ("cpu", "gpu")
    res = prover.prove_all([job(31339)])
    assert isinstance(res[31339], ChainProof) and res[31339].backend == prover.backend_name
