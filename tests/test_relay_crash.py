"""kill -9 of a relayer process (a subprocess running the signer and the relay) after signing,
after broadcasting on one chain, and between recording a transaction and broadcasting it; each
time a restart completes the round with no feed receiving it twice and no nonce gap."""

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
import tomli_w
from eth_account import Account

from test_relay import Chain, assert_nonces_consistent, build_attestation, feed_txs, setup_feed
from relayer.devnet.anvil import AnvilProcess
from relayer.storage import RoundState, Store, SubmissionState

pytestmark = pytest.mark.anvil

PASSWORD = "crash-test-password"
ROOT = Path(__file__).resolve().parents[1]

# The relayer process under test: signs round ROUND with the configured keystores (reusing what
# is stored), then relays every unfinished round. KILL_AT names an event at which it SIGKILLs
# itself: "signed", or "<event>:<chain id>" for a submitter event on one chain.
WORKER = textwrap.dedent("""
    import json, os, signal, sys
    from relayer.attest.signer import QuorumSigner, load_keystore_signers
    from relayer.config import load_config
    from relayer.relay.relay import Relay
    from relayer.relay.submitter import RelayOptions
    from relayer.storage import Store

    cfg_path, kill_at, round_ = sys.argv[1], sys.argv[2], int(sys.argv[3])
    cfg = load_config(cfg_path)

    def hook(name, data):
        tag = name if "chain_id" not in data else f"{name}:{data['chain_id']}"
        if tag == kill_at and data.get("kind", "submit") == "submit":
            print(f"killing myself at {tag}", flush=True)
            os.kill(os.getpid(), signal.SIGKILL)

    store = Store(cfg.relayer.database_url)
    signers = load_keystore_signers(cfg.relayer.keys, cfg.relayer.password_env)
    att, _bundle = store.get_attestation(round_)
    QuorumSigner(signers, cfg.relayer.quorum, store, on_event=hook).sign_round(
        att, [(c.chain_id, c.feed) for c in cfg.chains])
    relay = Relay.from_config(store, cfg, signers[0].unsafe_private_key(),
                              RelayOptions(receipt_timeout_s=10, poll_interval_s=0.05, backoff_base_s=0.1), on_event=hook)
    out = relay.resume()
    print(json.dumps({str(r): {str(c): s.state.value for c, s in subs.items()} for r, subs in out.items()}))
""")


def write_keystores(folder: Path, n: int) -> list[tuple[Path, str]]:
    out = []
    for i in range(n):
        key = os.urandom(32)
        path = folder / f"operator-{i + 1}.json"
        path.write_text(json.dumps(Account.encrypt(key, PASSWORD, kdf="scrypt", iterations=2**14)))
        out.append((path, Account.from_key(key).address))
    return out


def write_config(path: Path, db: Path, keys: list[Path], chains: list[Chain]) -> Path:
    def chain_entry(c: Chain) -> dict[str, Any]:
        addr = c.feed.address  # vault/asset addresses are not read by the relay; any contract will do
        return {"name": f"chain-{c.chain_id}", "chain_id": c.chain_id, "rpc": [c.proc.rpc_url], "confirmations": 0,
                "vault": addr, "feed": c.feed.address, "gas": {"max_fee_gwei": 200},
                "assets": [{"symbol": "USDC", "token": addr, "price_feed": addr, "decimals": 6}]}

    cfg = {"relayer": {"database_url": f"sqlite:///{db}", "keys": [str(k) for k in keys], "quorum": 2,
                       "password_env": "RELAYER_KEYSTORE_PASSWORD"},
           "chains": [chain_entry(c) for c in chains]}
    path.write_bytes(tomli_w.dumps(cfg).encode())
    return path


def run_worker(cfg: Path, kill_at: str, round: int = 1) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "RELAYER_KEYSTORE_PASSWORD": PASSWORD}
    return subprocess.run([sys.executable, "-c", WORKER, str(cfg), kill_at, str(round)], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def setup(anvil_chains: list[AnvilProcess], tmp_path: Path) -> tuple[list[Chain], Path, Path, str, dict[int, int]]:
    keys = write_keystores(tmp_path, 3)
    operator = keys[0][1]  # the first operator also pays for the submissions
    chains = [setup_feed(p, [a for _, a in keys], 2, operator) for p in anvil_chains]
    start = {c.chain_id: c.w3.eth.block_number for c in chains}
    db = tmp_path / "relayer.db"
    store = Store(f"sqlite:///{db}")
    att = build_attestation(chains, 1)
    store.create_round(1, {})
    store.advance_round(1, RoundState.PROVEN)
    store.save_attestation(att, b"relay test bundle: the AcceptingVerifier double accepts any bytes")
    store.close()
    cfg = write_config(tmp_path / "chains.toml", db, [p for p, _ in keys], chains)
    return chains, cfg, db, operator, start


def assert_round_complete_once(chains: list[Chain], db: Path, operator: str, start: dict[int, int]) -> Store:
    store = Store(f"sqlite:///{db}")
    assert store.get_round(1).state == RoundState.DONE  # type: ignore[union-attr]
    for c in chains:
        sub = store.get_submission(1, c.chain_id)
        assert sub is not None and sub.state == SubmissionState.INCLUDED
        txs = feed_txs(c, start[c.chain_id])
        assert len(txs) == 1, f"chain {c.chain_id}: the feed received {len(txs)} transactions"
        assert txs[0]["hash"].to_0x_hex() == sub.tx_hash
        assert c.feed.functions.lastRound().call() == 1
        assert_nonces_consistent(store, c, operator)
    return store


def test_kill_9_after_signing_and_after_submitting_on_one_chain(anvil_chains: list[AnvilProcess], tmp_path: Path) -> None:
    chains, cfg, db, operator, start = setup(anvil_chains, tmp_path)

    # 1. killed right after the signatures were persisted: nothing sent yet
    r = run_worker(cfg, "signed")
    assert r.returncode == -signal.SIGKILL, r.stderr
    store = Store(f"sqlite:///{db}")
    assert store.get_round(1).state == RoundState.SIGNED  # type: ignore[union-attr]
    sigs = {c.chain_id: store.signatures(1, c.chain_id) for c in chains}
    assert all(len(v) == 3 for v in sigs.values())
    assert store.sent_txs() == [] and all(feed_txs(c, start[c.chain_id]) == [] for c in chains)

    # 2. restarted, and killed again right after broadcasting on the middle chain
    r = run_worker(cfg, "broadcast:31338")
    assert r.returncode == -signal.SIGKILL, r.stderr
    mid = chains[1]
    sub = store.get_submission(1, mid.chain_id)
    assert sub is not None and sub.state == SubmissionState.SENT
    sent_hash = sub.tx_hash
    # the signatures were reused, not made again
    assert {c.chain_id: store.signatures(1, c.chain_id) for c in chains} == sigs

    # 3. restarted: looks the transaction up by hash instead of sending again; finishes the others
    r = run_worker(cfg, "none")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout.strip().splitlines()[-1]) == {"1": {str(c.chain_id): "included" for c in chains}}
    store = assert_round_complete_once(chains, db, operator, start)
    assert store.get_submission(1, mid.chain_id).tx_hash == sent_hash  # type: ignore[union-attr]
    assert len(store.sent_txs(1, mid.chain_id)) == 1


def test_kill_9_between_recording_and_broadcasting(anvil_chains: list[AnvilProcess], tmp_path: Path) -> None:
    """The write-ahead record exists but the node never saw the transaction: the restart sends
    exactly the recorded transaction (same hash, same nonce), never a second one."""
    chains, cfg, db, operator, start = setup(anvil_chains, tmp_path)
    r = run_worker(cfg, "sent_recorded:31339")
    assert r.returncode == -signal.SIGKILL, r.stderr
    store = Store(f"sqlite:///{db}")
    last = chains[2]
    (recorded,) = store.sent_txs(1, last.chain_id)
    assert feed_txs(last, start[last.chain_id]) == []  # never broadcast
    assert last.w3.eth.get_transaction_count(operator, "pending") == recorded.nonce
    assert store.next_nonce(last.chain_id, operator) == recorded.nonce + 1  # reserved by the record

    r = run_worker(cfg, "none")
    assert r.returncode == 0, r.stderr
    store = assert_round_complete_once(chains, db, operator, start)
    assert [t.tx_hash for t in store.sent_txs(1, last.chain_id)] == [recorded.tx_hash]
    assert store.get_submission(1, last.chain_id).tx_hash == recorded.tx_hash  # type: ignore[union-attr]
    events = [e.state.value for e in store.submission_events(1, last.chain_id)]
    assert events == ["pending", "sent", "sent", "included"]  # the second "sent": re-broadcast after restart
