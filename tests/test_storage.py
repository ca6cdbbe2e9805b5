"""Store: SQLite pragmas, domain round trips, the round and submission state machines (every
illegal move rejected), write-ahead nonce allocation, persistence across reopen and kill -9."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from eth_utils import keccak

from relayer.attest.eip712 import Attestation, ChainEntry, hash_attestation_struct
from relayer.errors import HaltError, StorageError
from relayer.storage import RoundState, SignatureRecord, Store, SubmissionState
from relayer.storage.records import ROUND_TRANSITIONS, SUBMISSION_TRANSITIONS
from relayer.types import AssetHolding, ChainSnapshot, PriceReading
from relayer.zk.curve import G1_GEN as G1_GENERATOR
from relayer.zk.curve import G2_GEN as G2_GENERATOR
from relayer.zk.groth16.types import Proof

ROOT = Path(__file__).resolve().parents[1]


def db(tmp_path: Path) -> Store:
    return Store(f"sqlite:///{tmp_path / 'relayer.db'}")


def snapshot(chain_id: int = 31337, block: int = 7, amount: int = 2**200 + 17) -> ChainSnapshot:
    price = PriceReading(feed="0x" + "11" * 20, answer=-(2**250) + 3, decimals=8, round_id=2**79 + 1,
                         started_at=1_700_000_000, updated_at=1_700_000_001, answered_in_round=2**79 + 1)
    return ChainSnapshot(chain_id=chain_id, chain_name="devnet-a", block_number=block,  # type: ignore[arg-type]
                         block_hash=keccak(b"block%d" % block), state_root=keccak(b"root"), timestamp=1_700_000_002,
                         vault="0x" + "22" * 20, holdings=(AssetHolding("WETH", "0x" + "33" * 20, 18, 1000, amount, price),),
                         rpc_urls=("http://a", "http://b"))


def attestation(round: int = 1, assets: int = 10**30) -> Attestation:
    entry = ChainEntry(chainId=31337, blockNumber=7, blockHash=keccak(b"h"), assets=assets, liabilities=5, maintenanceMargin=1,
                       badDebt=0, underMargined=0, root=b"\x01" * 32, marketCommitment=b"\x02" * 32, proofDigest=keccak(b"p"))
    return Attestation.build(round, 1_700_000_000, 1, [entry], b"bundle-%d" % round)


def test_sqlite_is_wal_with_foreign_keys(tmp_path: Path) -> None:
    s = db(tmp_path)
    assert s.pragma("journal_mode") == "wal"
    assert s.pragma("foreign_keys") == 1
    # foreign keys are enforced: a submission for a round that does not exist is refused
    with pytest.raises(StorageError, match="no round 5"):
        s.ensure_submission(5, 1)


def test_bad_urls_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="neither sqlite"):
        Store("mysql://x/y")
    with pytest.raises(StorageError, match="cannot open the database"):
        Store(f"sqlite:///{tmp_path / 'missing-dir' / 'x.db'}")
    # PostgreSQL is a code path only here (no server): without a driver or a server, a clear
    # StorageError with the password redacted, never an ImportError or a traceback
    with pytest.raises(StorageError) as info:
        Store("postgresql://relayer:s3cret@127.0.0.1:1/relayer")
    assert "s3cret" not in str(info.value) and "relayer:***@" in str(info.value)


def test_snapshot_and_proof_round_trip_exactly(tmp_path: Path) -> None:
    s = db(tmp_path)
    snap = snapshot()
    sid = s.save_snapshot(snap)
    assert s.save_snapshot(snap) == sid  # idempotent
    assert s.get_snapshot(sid) == snap  # big and negative integers exact, bytes exact
    assert s.latest_snapshot(31337) == snap
    assert s.latest_snapshot(1) is None
    proof = Proof(a=G1_GENERATOR, b=G2_GENERATOR, c=G1_GENERATOR)
    pid = s.save_proof(31337, 7, keccak(b"p"), proof, [1, 2, 2**253], "cpu")
    got = s.get_proof(keccak(b"p"))
    assert (got.id, got.proof, got.public_inputs, got.backend) == (pid, proof, (1, 2, 2**253), "cpu")
    with pytest.raises(StorageError, match="no proof"):
        s.get_proof(keccak(b"other"))
    with pytest.raises(StorageError, match="no snapshot"):
        s.get_snapshot(999)


def test_round_state_machine_forward_only(tmp_path: Path) -> None:
    s = db(tmp_path)
    sid = s.save_snapshot(snapshot())
    r = s.create_round(1, {31337: sid})
    assert r.state == RoundState.SNAPSHOTTED and s.round_snapshots(1) == {31337: sid}
    with pytest.raises(StorageError, match="already exists"):
        s.create_round(1, {})
    with pytest.raises(StorageError, match="snapshot id 42"):
        s.create_round(2, {1: 42})
    assert s.get_round(2) is None  # the failed create left nothing behind (one transaction)
    # skipping a stage is a broken invariant
    with pytest.raises(HaltError, match="snapshotted -> signed"):
        s.advance_round(1, RoundState.SIGNED)
    s.advance_round(1, RoundState.PROVEN)
    s.save_attestation(attestation(1), b"bundle-1")
    assert s.get_round(1).state == RoundState.ATTESTED  # type: ignore[union-attr]
    with pytest.raises(HaltError, match="attested -> proven"):
        s.advance_round(1, RoundState.PROVEN)
    with pytest.raises(StorageError, match="needs a reason"):
        s.advance_round(1, RoundState.FAILED)
    for st in (RoundState.SIGNED, RoundState.SUBMITTING, RoundState.DONE):
        s.advance_round(1, st)
    rec = s.get_round(1)
    assert rec is not None and rec.state == RoundState.DONE
    assert list(rec.stage_times) == ["snapshotted", "proven", "attested", "signed", "submitting", "done"]
    with pytest.raises(HaltError, match="done -> failed"):
        s.advance_round(1, RoundState.FAILED, "late")
    # every state can fail except the terminal ones
    for st, nxt in ROUND_TRANSITIONS.items():
        assert (RoundState.FAILED in nxt) == (st not in (RoundState.DONE, RoundState.FAILED))


def test_attestation_is_fixed_per_round(tmp_path: Path) -> None:
    s = db(tmp_path)
    s.create_round(3, {})
    s.advance_round(3, RoundState.PROVEN)
    att = attestation(3)
    s.save_attestation(att, b"bundle-3")
    s.save_attestation(att, b"bundle-3")  # same data again: fine
    with pytest.raises(HaltError, match="different attestation"):
        s.save_attestation(attestation(3, assets=10**30 + 1), b"bundle-3")
    assert s.get_attestation(3) == (att, b"bundle-3")


def test_signing_intent_refuses_a_second_digest(tmp_path: Path) -> None:
    s = db(tmp_path)
    a, b = hash_attestation_struct(attestation(1)), hash_attestation_struct(attestation(1, assets=1))
    signer = "0x" + "AB" * 20
    assert s.record_signing_intent(signer, 1, a) is True
    assert s.record_signing_intent(signer, 1, a) is False
    with pytest.raises(HaltError, match="never signs two digests"):
        s.record_signing_intent(signer, 1, b)
    assert s.record_signing_intent(signer, 2, b) is True  # another round is another question
    # and it survives closing and reopening the database
    s.close()
    with pytest.raises(HaltError):
        db(tmp_path).record_signing_intent(signer, 1, b)


def _submission_ready(s: Store, round: int = 1) -> None:
    s.create_round(round, {})
    s.ensure_submission(round, 10)


def test_submission_state_machine(tmp_path: Path) -> None:
    s = db(tmp_path)
    _submission_ready(s)
    with pytest.raises(HaltError, match="pending -> included"):
        s.transition(1, 10, SubmissionState.INCLUDED)
    with pytest.raises(StorageError, match="needs a reason"):
        s.transition(1, 10, SubmissionState.RETRY)
    s.transition(1, 10, SubmissionState.RETRY, "fee above cap")
    s.set_next_nonce(10, "0xS", 4)
    tx = s.record_sent(1, 10, "0xS", "0xh1", b"\x02raw", 4, 100, 10, allocate=True)
    sub = s.get_submission(1, 10)
    assert sub is not None and (sub.state, sub.tx_hash, sub.nonce, sub.max_fee_wei, sub.attempts) == \
        (SubmissionState.SENT, "0xh1", 4, 100, 1)
    assert s.next_nonce(10, "0xS") == 5 and tx.raw == b"\x02raw"
    # a replacement reuses its own nonce and marks the old transaction
    s.transition(1, 10, SubmissionState.REPLACED, "stuck", tx_hash="0xh1")
    s.record_sent(1, 10, "0xS", "0xh2", b"\x02raw2", 4, 113, 12)
    assert [(t.tx_hash, t.status) for t in s.sent_txs(1, 10)] == [("0xh1", "replaced"), ("0xh2", "sent")]
    assert s.next_nonce(10, "0xS") == 5  # no new nonce taken
    s.transition(1, 10, SubmissionState.INCLUDED, tx_hash="0xh2", block_number=9, gas_used=21000, tx_status="mined")
    with pytest.raises(HaltError, match="included -> sent"):
        s.record_sent(1, 10, "0xS", "0xh3", b"\x02raw3", 4, 200, 20)
    events = [(e.state.value, e.reason) for e in s.submission_events(1, 10)]
    assert events == [("pending", None), ("retry", "fee above cap"), ("sent", None), ("replaced", "stuck"),
                      ("sent", None), ("included", None)]
    # terminal states have no way out
    for st in (SubmissionState.INCLUDED, SubmissionState.FAILED, SubmissionState.SKIPPED):
        assert st.terminal and SUBMISSION_TRANSITIONS[st] == frozenset()


def test_nonce_allocation_refuses_gaps_and_reuse(tmp_path: Path) -> None:
    s = db(tmp_path)
    _submission_ready(s)
    s.set_next_nonce(10, "0xS", 3)
    with pytest.raises(HaltError, match="expects 3"):
        s.record_sent(1, 10, "0xS", "0xa", b"\x02", 5, 1, 1, allocate=True)  # would leave 3, 4 unused
    with pytest.raises(HaltError, match="expects 3"):
        s.record_sent(1, 10, "0xS", "0xa", b"\x02", 2, 1, 1, allocate=True)  # reuse
    with pytest.raises(HaltError, match="must reuse its own nonce"):
        s.record_sent(1, 10, "0xS", "0xa", b"\x02", 3, 1, 1)  # "replacement" of nothing
    assert s.sent_txs() == [] and s.next_nonce(10, "0xS") == 3
    assert s.get_submission(1, 10).state == SubmissionState.PENDING  # type: ignore[union-attr]


def test_signatures_are_stored_once_per_signer_and_chain(tmp_path: Path) -> None:
    s = db(tmp_path)
    rec = SignatureRecord(1, 10, "0xF", "0xA", b"\x01" * 32, b"\x02" * 65)
    s.save_signature(rec)
    s.save_signature(rec)
    assert s.signatures(1, 10) == [rec]
    with pytest.raises(HaltError, match="another digest"):
        s.save_signature(SignatureRecord(1, 10, "0xF", "0xA", b"\x03" * 32, b"\x02" * 65))


WRITER = textwrap.dedent("""
    import sys
    from relayer.storage import Store
    s = Store(sys.argv[1])
    s.create_round(1, {})
    s.ensure_submission(1, 10)
    s.set_next_nonce(10, "0xS", 0)
    print("ready", flush=True)
    i = 0
    while True:  # allocate nonces as fast as possible until killed
        s.record_sent(1, 10, "0xS", "0x%064x" % i, b"\\x02", i, 1, 1, allocate=True)
        i += 1
""")


def test_kill_9_mid_write_leaves_a_consistent_store(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'k.db'}"
    proc = subprocess.Popen([sys.executable, "-c", WRITER, url], stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        import time

        time.sleep(0.7)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    s = Store(url)
    txs = s.sent_txs(1, 10)
    assert len(txs) > 0
    # every committed allocation has its transaction and vice versa: next nonce = count, no gap
    assert [t.nonce for t in txs] == list(range(len(txs)))
    assert s.next_nonce(10, "0xS") == len(txs)
