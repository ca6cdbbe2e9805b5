"""Faults end to end on three Anvil chains, each its own test (issue 5 "Must show"): one chain
stopped mid-round (the others update, it catches up when it returns); the relayer killed with
SIGKILL after signing, after its transaction was broadcast on one chain and after the round landed
on one chain, then restarted (the round completes, no feed receives it twice, no nonce gap); an RPC
that returns a wrong balance (rejected by the storage-proof check, nothing signed). Bad inputs:
a ledger row that does not parse, a keystore with the wrong password, an unreachable RPC at start.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from web3 import Web3

from relayer.errors import AttestationError, ChainError, FormatError
from relayer.storage import RoundState, Store
from relayer.watch.snapshot import vault_holding_slot

from test_integration_pipeline import (  # noqa: F401  (fixtures)
    ENV,
    accepted_rounds,
    config_of,
    devnet,
    make_pipeline,
    solvency_keys_dir,
)

pytestmark = pytest.mark.anvil
REPO = Path(__file__).resolve().parents[1]


def operator_nonces(cfg: Any, address: str) -> list[tuple[int, int]]:
    out = []
    for c in cfg.chains:
        w3 = Web3(Web3.HTTPProvider(c.rpc[0]))
        out.append((w3.eth.get_transaction_count(address, "latest"), w3.eth.get_transaction_count(address, "pending")))
    return out


def test_chain_stopped_mid_round_others_update_then_it_catches_up(devnet: dict[str, Any]) -> None:
    cfg = config_of(devnet)
    stopped = devnet["chains"][2]
    frozen: list[int] = []

    def stop_chain_when_submitting(msg: str) -> None:
        if "submitting" in msg and not frozen:
            os.kill(int(stopped["pid"]), signal.SIGSTOP)  # the node hangs: every call to it times out
            frozen.append(int(stopped["pid"]))

    p = make_pipeline(cfg, progress=stop_chain_when_submitting)
    try:
        out = p.run_once(force=True)
        assert frozen
        assert out.status == "submitting", out
        assert out.submissions[cfg.chains[0].chain_id] == "included"
        assert out.submissions[cfg.chains[1].chain_id] == "included"
        assert out.submissions[cfg.chains[2].chain_id] not in ("included", "skipped", "failed")
        assert accepted_rounds(cfg, 0) == [out.round] and accepted_rounds(cfg, 1) == [out.round]
        assert p.store.get_round(out.round).state == RoundState.SUBMITTING  # type: ignore[union-attr]
    finally:
        for pid in frozen:
            os.kill(pid, signal.SIGCONT)
    try:
        # the chain is back: the next run resumes the round there; nothing new is needed elsewhere
        again = p.run_once()
        assert again.status == "skipped"  # no new trigger after the resumed round
        for i in range(3):
            assert accepted_rounds(cfg, i) == [out.round]
        assert p.store.get_round(out.round).state == RoundState.DONE  # type: ignore[union-attr]
        subs = {s.chain_id: s.state.value for s in p.store.submissions(out.round)}
        assert subs[cfg.chains[2].chain_id] == "included"
        assert subs[cfg.chains[0].chain_id] == "included"
        operator = p.signers[0].address
        assert operator_nonces(cfg, operator) == [(1, 1)] * 3  # one transaction each, no gap, none pending
    finally:
        p.close()


CHILD = textwrap.dedent('''
    import os, signal, sys
    from relayer.config import load_config
    from relayer.pipeline.build import build_pipeline
    from relayer.relay.submitter import RelayOptions
    from relayer.storage import RoundState

    config, mode = sys.argv[1], sys.argv[2]
    cfg = load_config(config, env={})
    die = lambda: os.kill(os.getpid(), signal.SIGKILL)

    def progress(msg):
        if mode == "after-sign" and "submitting" in msg:
            die()
        if mode == "during-proving" and "devnet-0 proven" in msg:
            die()  # devnet-0's proof is stored; devnet-1 and devnet-2 are not proven yet

    p = build_pipeline(cfg, backend="cpu", prover_workers=0,
                       env={"RELAYER_KEYSTORE_PASSWORD": os.environ["RELAYER_KEYSTORE_PASSWORD"]},
                       relay_options=RelayOptions(receipt_timeout_s=10, max_attempts=2, backoff_base_s=0.2),
                       rpc_timeout_s=5, progress=progress)
    first = cfg.chains[0].chain_id
    sub = p.relay.submitters[first]
    if mode == "after-broadcast":
        orig = sub._broadcast
        def broadcast_then_die(round, tx):
            orig(round, tx)
            die()
        sub._broadcast = broadcast_then_die
    if mode == "after-first-chain":
        def first_chain_then_die(round, chains=None):
            p.store.advance_round(round, RoundState.SUBMITTING)  # as the relay does first
            rec = sub.submit(round)
            assert rec.state.value == "included", rec
            die()
        p.relay.relay_round = first_chain_then_die
    p.run_once(force=True)
    sys.exit(3)  # not killed: the hook did not fire
''')


@pytest.mark.parametrize("mode", ["after-sign", "after-broadcast", "after-first-chain"])
def test_kill_9_then_restart_completes_round_once(devnet: dict[str, Any], tmp_path: Path, mode: str) -> None:
    cfg = config_of(devnet)
    child = tmp_path / "child.py"
    child.write_text(CHILD)
    env = {**os.environ, **ENV, "PYTHONPATH": str(REPO / "tests")}
    proc = subprocess.run([sys.executable, str(child), devnet["config"], mode], env=env, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-3000:]

    store = Store(cfg.relayer.database_url)
    (rec,) = store.rounds()
    assert rec.state in (RoundState.SIGNED, RoundState.SUBMITTING)
    sigs_before = {(s.chain_id, s.signer): s.signature for s in store.signatures(rec.round)}
    assert len(sigs_before) == 3 * len(cfg.relayer.keys)
    landed_before = [accepted_rounds(cfg, i) for i in range(3)]
    if mode == "after-first-chain":
        assert landed_before == [[rec.round], [], []]
    if mode == "after-sign":
        assert landed_before == [[], [], []]

    # restart: the same round completes; signatures are reused, nothing is sent twice
    p = make_pipeline(cfg)
    try:
        p.run_once()
        for i in range(3):
            assert accepted_rounds(cfg, i) == [rec.round], f"chain {i}"
        assert p.store.get_round(rec.round).state == RoundState.DONE  # type: ignore[union-attr]
        after = {(s.chain_id, s.signer): s.signature for s in p.store.signatures(rec.round)}
        assert after == sigs_before  # no new signature was made
        assert operator_nonces(cfg, p.signers[0].address) == [(1, 1)] * 3
        first = p.store.get_submission(rec.round, cfg.chains[0].chain_id)
        assert first is not None
        # included: recorded by the killed process (after-first-chain) or found by the restart, which
        # looked the broadcast transaction up by hash instead of sending a new one (after-broadcast)
        assert first.state.value == "included"
        # the feed on the first chain saw one transaction for the round, whatever the restart did
        assert len(p.store.sent_txs(rec.round, cfg.chains[0].chain_id)) == 1
    finally:
        p.close()


def test_kill_9_while_proving_then_restart_keeps_the_stored_proof(devnet: dict[str, Any], tmp_path: Path) -> None:
    cfg = config_of(devnet)
    child = tmp_path / "child.py"
    child.write_text(CHILD)
    env = {**os.environ, **ENV, "PYTHONPATH": str(REPO / "tests")}
    proc = subprocess.run([sys.executable, str(child), devnet["config"], "during-proving"], env=env, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-3000:]
    store = Store(cfg.relayer.database_url)
    (rec,) = store.rounds()
    assert rec.state == RoundState.SNAPSHOTTED
    kept = store.round_proofs(rec.round)
    first = cfg.chains[0].chain_id
    assert set(kept) == {first}

    messages: list[str] = []
    p = make_pipeline(cfg, progress=messages.append)
    try:
        out = p.run_once()  # no new trigger needed: the interrupted round is finished
        assert [r.round for r in p.store.rounds()] == [rec.round]  # the same round, not a new one
        assert p.store.get_round(rec.round).state == RoundState.DONE  # type: ignore[union-attr]
        att, _ = p.store.get_attestation(rec.round)
        entry = next(e for e in att.chains if e.chainId == first)
        assert entry.proofDigest == kept[first].digest  # devnet-0 kept the proof made before the kill
        # the attestation's time is the data time of the stored snapshots, not the restart's clock
        snaps = [p.store.get_snapshot(sid) for sid in p.store.round_snapshots(rec.round).values()]
        assert att.timestamp == min(s.timestamp for s in snaps)
        assert any("proving 2 chain(s)" in m and "keeping 1 stored proof" in m for m in messages), messages
        assert not any("devnet-0 proven" in m for m in messages)
        for i in range(3):
            assert accepted_rounds(cfg, i) == [rec.round]
        assert out.status == "skipped"  # and afterwards nothing moved: no new round
    finally:
        p.close()


def test_rpc_with_wrong_balance_is_rejected_nothing_signed(devnet: dict[str, Any]) -> None:
    from rpc_proxy import RpcProxy, for_address, proof_value

    cfg0 = config_of(devnet)
    c = cfg0.chains[1]
    usdc = next(a for a in c.assets if a.symbol == "USDC")
    slot = vault_holding_slot(usdc.token)
    with RpcProxy(c.rpc[0]) as proxy:
        # the lying endpoint inflates the vault's USDC holding in eth_getProof (proof nodes honest)
        proxy.rewrite("eth_getProof", for_address(c.vault, proof_value(slot, 10**30)))
        from relayer.config import load_config

        cfg = load_config(Path(devnet["config"]), env={}, overrides={f"chains.{c.name}.rpc": proxy.url})
        p = make_pipeline(cfg)
        try:
            with pytest.raises(ChainError, match=c.name):
                p.run_once(force=True)
            assert p.store.rounds() == []  # no round, no attestation, no signature
            for i in range(3):
                assert accepted_rounds(cfg, i) == []
        finally:
            p.close()


def test_unreadable_feed_fails_the_round_number_naming_the_chain(devnet: dict[str, Any]) -> None:
    """The snapshots are taken, then devnet-2's node stops: its feed's last round cannot be read, so
    the round number could be below it. A round attests all chains or none: the attempt fails at
    once, naming the chain, and no round is opened (nothing proven, signed or sent)."""
    cfg = config_of(devnet)
    stopped = devnet["chains"][2]
    frozen: list[int] = []
    p = make_pipeline(cfg)
    take = p.snapshot_all

    def snapshot_then_stop() -> Any:
        snaps = take()
        os.kill(int(stopped["pid"]), signal.SIGSTOP)  # every call to the node now times out
        frozen.append(int(stopped["pid"]))
        return snaps

    p.snapshot_all = snapshot_then_stop  # type: ignore[method-assign]
    try:
        with pytest.raises(ChainError, match=r"cannot number the next round, no round this time: devnet-2: cannot read "
                                             r"the feed"):
            p.run_once(force=True)
        assert frozen
        assert p.store.rounds() == []
        for i in range(2):
            assert accepted_rounds(cfg, i) == []
    finally:
        for pid in frozen:
            os.kill(pid, signal.SIGCONT)
        p.close()


def test_attested_round_whose_data_aged_past_max_age_while_down_is_failed_not_signed(devnet: dict[str, Any]) -> None:
    """The relayer dies after attesting, before signing, and stays down longer than the feeds' maxAge.
    On restart the attested round is failed (never signed: every feed would revert AttestationTooOld)
    and a new round over fresh blocks is published instead."""
    from relayer.devnet.deploy import FEED_MAX_AGE_S

    from test_integration_pipeline import rpc

    class Crash(BaseException):
        """Stands in for the process dying (not an error any handler may catch)."""

    cfg = config_of(devnet)
    p = make_pipeline(cfg)

    def die(*args: Any, **kwargs: Any) -> Any:
        raise Crash()

    p.quorum.sign_round = die  # type: ignore[method-assign]
    try:
        with pytest.raises(Crash):
            p.run_once(force=True)
    finally:
        p.close()
    (rec,) = p.store.rounds()
    assert rec.state == RoundState.ATTESTED
    for c in cfg.chains:  # down for maxAge + 100 s; the chains went on producing blocks
        rpc(c.rpc[0], "evm_increaseTime", [FEED_MAX_AGE_S + 100])
        rpc(c.rpc[0], "evm_mine", [])
        rpc(c.rpc[0], "evm_mine", [])
    p2 = make_pipeline(cfg)
    try:
        out = p2.run_once()
        old = p2.store.get_round(rec.round)
        assert old is not None and old.state == RoundState.FAILED
        assert "maxAge" in (old.reason or "") and "AttestationTooOld" in (old.reason or "")
        assert p2.store.signatures(rec.round) == []  # never signed
        assert out.status == "done" and out.round == rec.round + 1, out
        for i in range(3):
            assert accepted_rounds(cfg, i) == [out.round]
    finally:
        p2.close()


# ---------------------------------------------------------------------------------------- bad inputs


def test_unreachable_rpc_at_start_is_a_clear_error(devnet: dict[str, Any]) -> None:
    from relayer.config import load_config
    from relayer.pipeline.build import build_pipeline

    cfg = load_config(Path(devnet["config"]), env={}, overrides={"chains.devnet-2.rpc": "http://127.0.0.1:9"})
    # refused at start by the feed preflight (relayer.pipeline.preflight), before anything is opened
    with pytest.raises(ChainError, match=r"devnet-2 .*127\.0\.0\.1:9"):
        make_pipeline(cfg)
    # and without it, by the round's own snapshot (an RPC that goes down after the start)
    p = build_pipeline(cfg, backend="cpu", prover_workers=0, env=ENV, rpc_timeout_s=5, preflight=False)
    try:
        with pytest.raises(ChainError, match=r"127\.0\.0\.1:9"):
            p.run_once(force=True)
        assert p.store.rounds() == []
    finally:
        p.close()


def test_ledger_row_that_does_not_parse_fails_before_any_network_call(devnet: dict[str, Any]) -> None:
    cfg = config_of(devnet)
    ledger = Path(cfg.chains[0].ledger)  # type: ignore[arg-type]
    doc = json.loads(ledger.read_text())
    doc["accounts"][3]["cash"] = "12.5e3"
    ledger.write_text(json.dumps(doc))
    with pytest.raises(FormatError, match=r"accounts\[3\]"):
        make_pipeline(cfg)


def test_keystore_with_wrong_password(devnet: dict[str, Any]) -> None:
    from relayer.pipeline.build import build_pipeline

    cfg = config_of(devnet)
    with pytest.raises(AttestationError, match="wrong password"):
        build_pipeline(cfg, env={"RELAYER_KEYSTORE_PASSWORD": "not-the-password"})
