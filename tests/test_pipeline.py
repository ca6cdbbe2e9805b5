"""Pipeline parts without a chain, at a tiny capacity: the key folder (what it refuses), chains
proven in parallel worker processes (and one chain's failure keeps the others' proofs), the
versioned bundle (encoding, digest, and every way it must be refused before signing)."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from eth_abi import decode as abi_decode
from eth_utils import keccak

from relayer.aggregate.bundle import BUNDLE_VERSION, ChainProof, ProofBundle, proof_digest
from relayer.circuits.solvency import Capacity, ChainContext, expected_public
from relayer.errors import ConfigError, FormatError, ProverError, VerificationError
from relayer.keys_setup import CIRCUIT_FILE, CircuitSpec, load_solvency_keys, setup_solvency_keys
from relayer.pipeline.prover import ChainProver, ProveJob
from relayer.risk.market import compact_grid, compute_market_data
from relayer.risk.synthetic import default_instruments, default_market_inputs, generate_book
from relayer.zk.solidity import encode_proof

CAP = Capacity(accounts=2, instruments=4, scenarios=2)
T = 1_767_225_600


@pytest.fixture(scope="module")
def key_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("tiny-keys")
    setup_solvency_keys(d, CircuitSpec(CAP))
    return d


def job(chain_id: int, round_no: int = 1, seed: int = 1) -> ProveJob:
    ins = default_instruments(valuation_time=T)
    inputs = default_market_inputs(valuation_time=T)
    grid = compact_grid(CAP.scenarios)
    book = generate_book(chain_id, 2, seed, instruments=ins, inputs=inputs, grid=grid)
    md = compute_market_data(book.instruments, inputs, grid)
    ctx = ChainContext(chain_id, 100 + chain_id, keccak(str(chain_id).encode()), 5 * 10**12, round_no)
    return ProveJob(chain_id, ctx, book, md, tuple(expected_public(ctx, book, md, CAP)))


def test_key_folder_round_trip_and_refusals(key_dir: Path, tmp_path: Path) -> None:
    keys = load_solvency_keys(key_dir)
    assert keys.spec.capacity == CAP and keys.dev and keys.vk.n_public == 12
    assert keys.pk.vk == keys.vk

    with pytest.raises(ConfigError, match="no solvency circuit keys"):
        load_solvency_keys(tmp_path / "nothing-here")
    # a circuit.json from another setup (vk hash differs) is refused
    mixed = tmp_path / "mixed"
    shutil.copytree(key_dir, mixed)
    meta = json.loads((mixed / CIRCUIT_FILE).read_text())
    meta["vk_hash"] = "0x" + "00" * 32
    (mixed / CIRCUIT_FILE).write_text(json.dumps(meta))
    with pytest.raises(FormatError, match="mixes two setups"):
        load_solvency_keys(mixed)
    # a malformed description
    meta["capacity"] = {"accounts": "many"}
    (mixed / CIRCUIT_FILE).write_text(json.dumps(meta))
    with pytest.raises(FormatError, match="malformed circuit description"):
        load_solvency_keys(mixed)


def test_chains_proven_in_parallel_processes_one_failure_kept_apart(key_dir: Path) -> None:
    keys = load_solvency_keys(key_dir)
    jobs = [job(31337), job(31338, seed=2), job(31339, seed=3)]
    # the third chain's expected statement is wrong (as if the book changed under it): only it fails
    bad = replace(jobs[2], expected_public=jobs[2].expected_public[:-1] + (jobs[2].expected_public[-1] + 1,))
    prover = ChainProver(keys, "cpu", workers=2)
    try:
        done: list[int] = []
        res = prover.prove_all([jobs[0], jobs[1], bad], on_done=lambda p: done.append(p.chain_id))
    finally:
        prover.close()
    assert sorted(done) == [31337, 31338]
    assert isinstance(res[31339], ProverError) and "differ from the natively computed" in str(res[31339])
    proofs = [res[31337], res[31338]]
    assert all(isinstance(p, ChainProof) for p in proofs)
    bundle = ProofBundle.build(proofs)  # type: ignore[arg-type]
    bundle.verify(keys.vk, [jobs[0].expected_public, jobs[1].expected_public])


def test_bundle_encoding_and_refusals(key_dir: Path) -> None:
    keys = load_solvency_keys(key_dir)
    prover = ChainProver(keys, "cpu", workers=0)  # in-process
    jobs = [job(31339, seed=3), job(31337)]
    res = prover.prove_all(jobs)
    a, b = res[31337], res[31339]
    assert isinstance(a, ChainProof) and isinstance(b, ChainProof)

    bundle = ProofBundle.build([b, a])  # sorted by chain id, whatever the order given
    assert bundle.chain_ids == (31337, 31339) and bundle.version == BUNDLE_VERSION == 1
    version, words = abi_decode(["uint256", "uint256[8][]"], bundle.encode())
    assert version == 1 and [list(w) for w in words] == [encode_proof(a.proof), encode_proof(b.proof)]
    assert bundle.digest == keccak(bundle.encode())
    assert a.digest == proof_digest(a.proof) != b.digest
    bundle.verify(keys.vk, [jobs[1].expected_public, jobs[0].expected_public])

    # the feed would derive other inputs (e.g. another round): refused before signing
    other_round = list(jobs[1].expected_public)
    other_round[11] += 1
    with pytest.raises(VerificationError, match="differ from the ones the feed will derive"):
        bundle.verify(keys.vk, [other_round, jobs[0].expected_public])
    # a proof swapped onto another chain's inputs: the batch fails and the culprit is named
    swapped = ProofBundle.build([replace(a, proof=b.proof), b])
    with pytest.raises(VerificationError, match="chain 31337"):
        swapped.verify(keys.vk)
    with pytest.raises(VerificationError, match="public input vectors"):
        bundle.verify(keys.vk, [jobs[1].expected_public])
    with pytest.raises(FormatError, match="one proof per chain"):
        ProofBundle.build([a, a])
    with pytest.raises(FormatError, match="at least one"):
        ProofBundle.build([])
    with pytest.raises(FormatError, match="version 2"):
        ProofBundle(2, bundle.proofs).encode()


def test_last_published_halts_on_a_corrupt_stored_attestation(tmp_path: Path) -> None:
    """A stored attestation that no longer matches its recorded hash is a HaltError (corrupt
    database), never silently skipped in favour of an older round as the trigger baseline."""
    import sqlite3
    from types import SimpleNamespace

    from relayer.attest.eip712 import Attestation, ChainEntry
    from relayer.errors import HaltError
    from relayer.pipeline.round import RoundPipeline
    from relayer.storage import RoundState, Store

    store = Store(f"sqlite:///{tmp_path / 'relayer.db'}")
    for r in (1, 2):
        entry = ChainEntry(chainId=31337, blockNumber=7, blockHash=keccak(b"h"), assets=10**9 + r, liabilities=10**9,
                           maintenanceMargin=1, badDebt=0, underMargined=0, root=b"\x01" * 32,
                           marketCommitment=b"\x02" * 32, proofDigest=keccak(b"p"))
        store.create_round(r, {})
        store.advance_round(r, RoundState.PROVEN)
        store.save_attestation(Attestation.build(r, 1_700_000_000 + r, 1, [entry], b"bundle"), b"bundle")
        for st in (RoundState.SIGNED, RoundState.SUBMITTING, RoundState.DONE):
            store.advance_round(r, st)
    pipeline = SimpleNamespace(store=store)
    assert RoundPipeline.last_published(pipeline).round == 2  # type: ignore[arg-type]

    # tamper with round 2's stored data (assets), leaving its recorded struct hash as it was
    con = sqlite3.connect(tmp_path / "relayer.db")
    row = con.execute("SELECT data FROM attestations WHERE round = 2").fetchone()
    data = json.loads(row[0])
    data["totalAssets"] = str(int(data["totalAssets"]) + 1)
    con.execute("UPDATE attestations SET data = ? WHERE round = 2", (json.dumps(data),))
    con.commit()
    con.close()
    with pytest.raises(HaltError, match="corrupt database"):
        RoundPipeline.last_published(pipeline)  # type: ignore[arg-type]


def test_deviation_trigger_from_a_zero_ratio() -> None:
    """Last published ratio 0 (no assets, liabilities owed): the same 0 again is no move (only the
    heartbeat republishes it); any non-zero ratio is a move."""
    from types import SimpleNamespace

    from relayer.attest.eip712 import Attestation, ChainEntry
    from relayer.pipeline.round import RoundPipeline

    entry = ChainEntry(chainId=1, blockNumber=1, blockHash=keccak(b"b"), assets=0, liabilities=10**6,
                       maintenanceMargin=0, badDebt=10**6, underMargined=0, root=b"\x01" * 32,
                       marketCommitment=b"\x02" * 32, proofDigest=keccak(b"p"))
    last = Attestation.build(1, 1_700_000_000, 1, [entry], b"bundle")
    fake = SimpleNamespace(last_published=lambda: last,
                           cfg=SimpleNamespace(relayer=SimpleNamespace(heartbeat_s=3600, deviation_bps=50)))
    t = float(last.timestamp + 60)
    assert RoundPipeline.should_publish(fake, 0, 10**6, t) is None  # type: ignore[arg-type]
    assert RoundPipeline.should_publish(fake, 0, 5 * 10**6, t) is None  # type: ignore[arg-type]
    assert "ratio moved" in RoundPipeline.should_publish(fake, 1, 10**6, t)  # type: ignore[arg-type,operator]
    assert "heartbeat" in RoundPipeline.should_publish(fake, 0, 10**6, t + 3600)  # type: ignore[arg-type,operator]
    # and from a non-zero ratio the relative rule still applies (50 bps of 1.0)
    last2 = Attestation.build(2, 1_700_000_000, 1, [replace(entry, assets=10**6, badDebt=0)], b"bundle")
    fake.last_published = lambda: last2
    assert RoundPipeline.should_publish(fake, 10**6 + 5_000, 10**6, t) is None  # type: ignore[arg-type]
    assert "ratio moved" in RoundPipeline.should_publish(fake, 10**6 + 5_001, 10**6, t)  # type: ignore[arg-type,operator]
