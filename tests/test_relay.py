"""Relay on Anvil: a signed round lands on three feeds (AcceptingVerifier double, test only);
already-on-feed and superseded rounds are skipped without a transaction; unregistered signers'
signatures are never sent; the fee cap holds; a dropped or stuck transaction is replaced with
both fees bumped >= 12.5%; a stopped chain does not hold up the others and catches up later."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_utils import keccak
from web3 import Web3

from contract_helpers import connect, deploy_any
from relayer.attest.eip712 import Attestation, ChainEntry, recover_signer
from relayer.attest.signer import QuorumSigner, Signer, UnsafeLocalKeySigner
from relayer.config import GasPolicy
from relayer.contracts import deploy
from relayer.devnet.anvil import AnvilProcess, start_anvil
from relayer.relay.fees import FeeAboveCap, Fees, bump_fees, compute_fees
from relayer.relay.relay import Relay
from relayer.relay.submitter import FeedSubmitter, RelayOptions
from relayer.storage import RoundState, SentTx, Store, SubmissionState

GWEI = 10**9
BUNDLE = b"relay test bundle: the AcceptingVerifier double accepts any bytes"
FAST = RelayOptions(receipt_timeout_s=5, poll_interval_s=0.05, max_attempts=3, backoff_base_s=0.05, backoff_max_s=0.2)


@dataclass
class Chain:
    proc: AnvilProcess
    w3: Web3
    feed: Any

    @property
    def chain_id(self) -> int:
        return self.proc.chain_id


def key_of(label: str) -> bytes:
    return keccak(text=f"relay-test-{label}")


def setup_feed(proc: AnvilProcess, signer_addrs: Sequence[str], threshold: int, operator: str,
               verifier_double: str = "AcceptingVerifier") -> Chain:
    """A SolvencyFeed with a verifier double (test only), and gas money for the operator."""
    w3 = connect(proc)
    verifier = deploy_any(w3, verifier_double)
    feed = deploy(w3, "SolvencyFeed", list(signer_addrs), threshold, verifier.address, 3600, 300, w3.eth.accounts[0])
    tx = w3.eth.send_transaction({"from": w3.eth.accounts[0], "to": operator, "value": 10 * 10**18})
    w3.eth.wait_for_transaction_receipt(tx)
    return Chain(proc, w3, feed)


def build_attestation(chains: Sequence[Chain], round: int, liabilities: int = 10**12) -> Attestation:
    """An attestation whose per-chain entries pin each chain's previous block (the feed checks its
    own chain's block hash, and that the block is in the past even for eth_estimateGas)."""
    entries = []
    for i, c in enumerate(chains):
        blk = c.w3.eth.get_block(c.w3.eth.block_number - 1)
        entries.append(ChainEntry(
            chainId=c.chain_id, blockNumber=int(blk["number"]), blockHash=bytes(blk["hash"]), assets=2 * 10**12 + i,
            liabilities=liabilities + i, maintenanceMargin=10**9, badDebt=0, underMargined=0,
            root=keccak(b"root%d" % i)[:31].rjust(32, b"\0"), marketCommitment=(7 * i + 1).to_bytes(32, "big"),
            proofDigest=keccak(b"proof%d-%d" % (i, round))))
    ts = min(int(c.w3.eth.get_block("latest")["timestamp"]) for c in chains) - 1
    return Attestation.build(round, ts, 1, entries, BUNDLE)


def prepare_round(store: Store, chains: Sequence[Chain], round: int, signers: Sequence[Signer], quorum: int,
                  att: Attestation | None = None) -> Attestation:
    """Store a round up to `signed` (the stages before attestation are other modules' work)."""
    att = att or build_attestation(chains, round)
    store.create_round(round, {})
    store.advance_round(round, RoundState.PROVEN)
    store.save_attestation(att, BUNDLE)
    QuorumSigner(signers, quorum, store).sign_round(att, [(c.chain_id, c.feed.address) for c in chains])
    return att


def make_relay(store: Store, chains: Sequence[Chain], operator_key: bytes, options: RelayOptions = FAST,
               policy: GasPolicy | None = None, on_event: Callable[[str, dict[str, Any]], None] | None = None) -> Relay:
    subs = [FeedSubmitter(store, c.chain_id, c.w3, c.feed.address, operator_key, policy or GasPolicy(), options,
                          on_event=on_event, name=f"chain-{c.chain_id}") for c in chains]
    return Relay(store, subs, on_event)


def feed_txs(c: Chain, since: int = 0) -> list[Any]:
    """Every transaction sent to the feed (mined) since block `since`."""
    out = []
    for n in range(since, c.w3.eth.block_number + 1):
        for tx in c.w3.eth.get_block(n, full_transactions=True)["transactions"]:
            if tx["to"] == c.feed.address:
                out.append(tx)
    return out


def submitted_signatures(c: Chain, tx: Any) -> list[bytes]:
    fn, args = c.feed.decode_function_input(tx["input"])
    assert fn.fn_name == "submit"
    return list(args["signatures"])


def assert_nonces_consistent(store: Store, c: Chain, sender: str) -> None:
    """No gap, no stuck transaction: stored next nonce == chain latest == chain pending."""
    latest = c.w3.eth.get_transaction_count(sender, "latest")
    assert c.w3.eth.get_transaction_count(sender, "pending") == latest
    assert store.next_nonce(c.chain_id, sender) == latest


@pytest.fixture()
def signer_set() -> list[UnsafeLocalKeySigner]:
    return [UnsafeLocalKeySigner(key_of(f"signer-{i}")) for i in range(3)]


@pytest.fixture()
def three_feeds(anvil_chains: list[AnvilProcess], signer_set: list[UnsafeLocalKeySigner], request: pytest.FixtureRequest
                ) -> tuple[list[Chain], bytes]:
    """Fresh feeds (threshold 2 of the 3 signers) on the session's three chains, and a fresh
    operator key (its nonces start at 0 on each chain)."""
    op_key = key_of("operator-" + request.node.name)
    op = Account.from_key(op_key).address
    chains = [setup_feed(p, [s.address for s in signer_set], 2, op) for p in anvil_chains]
    return chains, op_key


pytestmark = pytest.mark.anvil


# ---------------------------------------------------------------- fees (pure)


def test_fee_rules() -> None:
    policy = GasPolicy(max_fee_gwei=Decimal(100), priority_fee_gwei=Decimal(2))
    f = compute_fees(10 * GWEI, 5 * GWEI, policy)
    assert f == Fees(22 * GWEI, 2 * GWEI)  # tip capped by the config, 2 x base + tip
    assert compute_fees(60 * GWEI, GWEI, policy) == Fees(100 * GWEI, GWEI)  # max fee never above the cap
    with pytest.raises(FeeAboveCap, match="above the cap"):
        compute_fees(99 * GWEI + 1, GWEI, policy)
    b = bump_fees(Fees(22 * GWEI, 2 * GWEI), 10 * GWEI, GWEI, policy)
    assert b.max_fee_wei * 8 >= 22 * GWEI * 9 and b.priority_fee_wei * 8 >= 2 * GWEI * 9
    odd = bump_fees(Fees(9, 1), 1, 0, policy)  # rounding is up: 9 * 1.125 = 10.125 -> 11
    assert odd.max_fee_wei >= 11 and odd.priority_fee_wei >= 2
    assert bump_fees(Fees(80 * GWEI, GWEI), 50 * GWEI, GWEI, policy).max_fee_wei == 100 * GWEI  # cap wins over 2 x base
    with pytest.raises(FeeAboveCap, match="replacement must pay"):
        bump_fees(Fees(90 * GWEI, GWEI), 10 * GWEI, GWEI, policy)


# ---------------------------------------------------------------- happy path and skips


def test_round_lands_on_three_chains(three_feeds: tuple[list[Chain], bytes], signer_set: list[UnsafeLocalKeySigner],
                                     tmp_path: Path) -> None:
    chains, op_key = three_feeds
    op = Account.from_key(op_key).address
    start = {c.chain_id: c.w3.eth.block_number for c in chains}
    store = Store(f"sqlite:///{tmp_path / 'r.db'}")
    att = prepare_round(store, chains, 1, signer_set, 2)
    out = make_relay(store, chains, op_key).relay_round(1)
    assert {c: s.state for c, s in out.items()} == {c.chain_id: SubmissionState.INCLUDED for c in chains}
    assert store.get_round(1).state == RoundState.DONE  # type: ignore[union-attr]
    for c in chains:
        assert c.feed.functions.lastRound().call() == 1
        view = c.feed.functions.latestAttestation().call()
        assert view[0] == 1 and view[4] == att.totalAssets and view[5] == att.totalLiabilities
        txs = feed_txs(c, start[c.chain_id])
        assert len(txs) == 1 and txs[0]["hash"].to_0x_hex() == out[c.chain_id].tx_hash
        assert txs[0]["from"] == op and txs[0]["type"] == 2
        assert out[c.chain_id].gas_used and out[c.chain_id].block_number == txs[0]["blockNumber"]
        assert_nonces_consistent(store, c, op)
    # relaying the finished round again sends nothing (terminal), even from a reopened store
    store.close()
    store = Store(f"sqlite:///{tmp_path / 'r.db'}")
    with pytest.raises(Exception, match="done; only a signed round"):
        make_relay(store, chains, op_key).relay_round(1)
    assert all(len(feed_txs(c, start[c.chain_id])) == 1 for c in chains)

    # a second relayer (its own database, same round signed) finds the round on every feed
    other = Store(f"sqlite:///{tmp_path / 'other.db'}")
    prepare_round(other, chains, 1, signer_set, 2, att=att)
    res = make_relay(other, chains, op_key).relay_round(1)
    assert all(s.state == SubmissionState.SKIPPED and s.reason and "already on feed" in s.reason for s in res.values())
    assert other.sent_txs() == [] and other.get_round(1).state == RoundState.DONE  # type: ignore[union-attr]

    # round 2 lands; then a relayer still holding only round 1... is superseded by the feed
    prepare_round(store, chains, 2, signer_set, 2)
    assert all(s.state == SubmissionState.INCLUDED for s in make_relay(store, chains, op_key).relay_round(2).values())
    late = Store(f"sqlite:///{tmp_path / 'late.db'}")
    prepare_round(late, chains, 1, signer_set, 2, att=att)
    res = make_relay(late, chains, op_key).relay_round(1)
    assert all(s.state == SubmissionState.SKIPPED and "superseded (the feed already has round 2)" in (s.reason or "")
               for s in res.values())
    assert late.sent_txs() == []
    # ... or by a newer round signed locally
    local = Store(f"sqlite:///{tmp_path / 'local.db'}")
    prepare_round(local, chains, 3, signer_set, 2)
    prepare_round(local, chains, 4, signer_set, 2)
    res = make_relay(local, chains, op_key).relay_round(3)
    assert all("superseded (round 4 is signed locally)" in (s.reason or "") for s in res.values())
    assert local.sent_txs() == []
    for c in chains:
        assert len(feed_txs(c, start[c.chain_id])) == 2
        assert_nonces_consistent(store, c, op)


def test_unregistered_signer_signature_is_never_sent(three_feeds: tuple[list[Chain], bytes],
                                                     signer_set: list[UnsafeLocalKeySigner], tmp_path: Path) -> None:
    chains, op_key = three_feeds
    op = Account.from_key(op_key).address
    outsider = UnsafeLocalKeySigner(key_of("outsider"))
    start = {c.chain_id: c.w3.eth.block_number for c in chains}
    # outsider + two registered signers: the round is sent with the two registered signatures only
    store = Store(f"sqlite:///{tmp_path / 'u.db'}")
    prepare_round(store, chains, 1, [signer_set[0], outsider, signer_set[2]], 2)
    out = make_relay(store, chains[:1], op_key).relay_round(1, [chains[0].chain_id])
    assert out[chains[0].chain_id].state == SubmissionState.INCLUDED
    (tx,) = feed_txs(chains[0], start[chains[0].chain_id])
    att, _ = store.get_attestation(1)
    from relayer.attest.eip712 import attestation_digest

    digest = attestation_digest(att, chains[0].chain_id, chains[0].feed.address)
    sent = [recover_signer(digest, s) for s in submitted_signatures(chains[0], tx)]
    assert sent == [signer_set[0].address, signer_set[2].address]

    # outsider + one registered signer: below the feed's threshold, nothing is sent
    store2 = Store(f"sqlite:///{tmp_path / 'u2.db'}")
    prepare_round(store2, chains, 2, [signer_set[1], outsider], 2)
    out = make_relay(store2, chains[1:2], op_key).relay_round(2, [chains[1].chain_id])
    sub = out[chains[1].chain_id]
    assert sub.state == SubmissionState.FAILED
    assert "only 1 signature(s) from registered signers" in (sub.reason or "") and outsider.address in (sub.reason or "")
    assert store2.sent_txs() == [] and feed_txs(chains[1], start[chains[1].chain_id]) == []
    assert chains[1].w3.eth.get_transaction_count(op) == 0


# ---------------------------------------------------------------- single fresh chains: fees, drops, stuck


@pytest.fixture()
def lone_feed(tmp_path: Path, signer_set: list[UnsafeLocalKeySigner]) -> Iterator[tuple[Chain, bytes, Store]]:
    """A private anvil (its mining mode is changed by the test) with a feed and a signed round 1."""
    proc = start_anvil(31337, log_dir=tmp_path)
    try:
        op_key = key_of("lone-operator")
        chain = setup_feed(proc, [s.address for s in signer_set], 2, Account.from_key(op_key).address)
        store = Store(f"sqlite:///{tmp_path / 'lone.db'}")
        prepare_round(store, [chain], 1, signer_set, 2)
        yield chain, op_key, store
    finally:
        proc.stop()


def rpc(c: Chain, method: str, *params: Any) -> Any:
    reply = c.w3.provider.make_request(method, list(params))  # type: ignore[arg-type]
    assert "error" not in reply, reply
    return reply["result"]


def states(store: Store, round: int, chain_id: int) -> list[str]:
    return [e.state.value for e in store.submission_events(round, chain_id)]


def gas_spent(c: Chain) -> float:
    """relayer_feed_gas_spent_total of the chain (label as make_relay names it)."""
    from relayer import metrics

    return metrics.REGISTRY.get_sample_value("relayer_feed_gas_spent_total", {"chain": f"chain-{c.chain_id}"}) or 0.0


def receipt_gas(c: Chain, tx_hash: str) -> int:
    return int(c.w3.eth.get_transaction_receipt(tx_hash)["gasUsed"])


def test_fee_cap_is_respected(lone_feed: tuple[Chain, bytes, Store]) -> None:
    chain, op_key, store = lone_feed
    op = Account.from_key(op_key).address
    policy = GasPolicy(max_fee_gwei=Decimal(200), priority_fee_gwei=Decimal(1))
    rpc(chain, "anvil_setNextBlockBaseFeePerGas", hex(300 * GWEI))
    relay = make_relay(store, [chain], op_key, policy=policy)
    sub = relay.relay_round(1)[chain.chain_id]
    assert sub.state == SubmissionState.RETRY
    assert "above the cap 200000000000 wei" in (sub.reason or "")
    assert store.sent_txs() == [] and chain.w3.eth.get_transaction_count(op, "pending") == 0
    assert store.get_round(1).state == RoundState.SUBMITTING  # type: ignore[union-attr]
    # the price falls: the same call goes through, paying at most the cap
    rpc(chain, "anvil_setNextBlockBaseFeePerGas", hex(150 * GWEI))
    sub = relay.relay_round(1)[chain.chain_id]
    assert sub.state == SubmissionState.INCLUDED
    tx = chain.w3.eth.get_transaction(sub.tx_hash)
    assert tx["maxFeePerGas"] == 200 * GWEI  # min(2 x 150 + 1, 200): the cap, never more
    assert chain.w3.eth.get_transaction_receipt(sub.tx_hash)["effectiveGasPrice"] <= 200 * GWEI
    assert states(store, 1, chain.chain_id)[:2] == ["pending", "retry"]
    assert_nonces_consistent(store, chain, op)


def test_dropped_transaction_is_replaced_with_bumped_fees(lone_feed: tuple[Chain, bytes, Store]) -> None:
    chain, op_key, store = lone_feed
    op = Account.from_key(op_key).address
    start = chain.w3.eth.block_number
    rpc(chain, "evm_setAutomine", False)
    dropped: list[str] = []

    def hook(name: str, data: dict[str, Any]) -> None:
        if name == "broadcast" and not dropped:
            # the node forgets the first transaction (as a pool eviction would); mining resumes
            dropped.append(data["tx_hash"])
            rpc(chain, "anvil_dropTransaction", data["tx_hash"])
            rpc(chain, "evm_setAutomine", True)

    sub = make_relay(store, [chain], op_key, on_event=hook).relay_round(1)[chain.chain_id]
    assert sub.state == SubmissionState.INCLUDED
    first, second = store.sent_txs(1, chain.chain_id)
    assert first.tx_hash == dropped[0] and sub.tx_hash == second.tx_hash != first.tx_hash
    assert first.nonce == second.nonce == 0
    assert second.max_fee_wei * 8 >= first.max_fee_wei * 9 and second.priority_fee_wei * 8 >= first.priority_fee_wei * 9
    mined = chain.w3.eth.get_transaction(second.tx_hash)
    assert (mined["maxFeePerGas"], mined["maxPriorityFeePerGas"]) == (second.max_fee_wei, second.priority_fee_wei)
    assert states(store, 1, chain.chain_id) == ["pending", "sent", "dropped", "sent", "included"]
    assert len(feed_txs(chain, start)) == 1 and chain.feed.functions.lastRound().call() == 1
    assert_nonces_consistent(store, chain, op)


def test_stuck_transaction_is_replaced_with_bumped_fees(lone_feed: tuple[Chain, bytes, Store]) -> None:
    chain, op_key, store = lone_feed
    op = Account.from_key(op_key).address
    start = chain.w3.eth.block_number
    rpc(chain, "evm_setAutomine", False)  # nothing is mined: the first transaction sits in the pool
    seen: list[str] = []

    def hook(name: str, data: dict[str, Any]) -> None:
        if name == "broadcast":
            seen.append(data["tx_hash"])
            if len(seen) == 2:
                rpc(chain, "evm_mine")  # the pool now holds only the replacement

    opts = RelayOptions(receipt_timeout_s=1.0, poll_interval_s=0.05, max_attempts=3, backoff_base_s=0.05)
    gas0 = gas_spent(chain)
    sub = make_relay(store, [chain], op_key, options=opts, on_event=hook).relay_round(1)[chain.chain_id]
    assert sub.state == SubmissionState.INCLUDED and sub.tx_hash == seen[1]
    # two transactions sent, one mined: its gas counted once
    assert gas_spent(chain) - gas0 == receipt_gas(chain, seen[1]) == sub.gas_used
    first, second = store.sent_txs(1, chain.chain_id)
    assert (first.status, second.status) == ("replaced", "mined") and first.nonce == second.nonce
    assert second.max_fee_wei * 8 >= first.max_fee_wei * 9 and second.priority_fee_wei * 8 >= first.priority_fee_wei * 9
    assert states(store, 1, chain.chain_id) == ["pending", "sent", "replaced", "sent", "included"]
    assert len(feed_txs(chain, start)) == 1
    assert_nonces_consistent(store, chain, op)


# ---------------------------------------------------------------- a chain goes down and comes back


def test_stopped_chain_does_not_hold_up_the_others_and_catches_up(tmp_path: Path,
                                                                   signer_set: list[UnsafeLocalKeySigner]) -> None:
    """The middle chain's anvil is stopped (SIGTERM; `--state FILE` dumps its state on exit) after
    the round was attested; it is restarted on the same port from that file (same blocks, same
    contracts), and the relay's resume completes the round there."""
    op_key = key_of("down-operator")
    op = Account.from_key(op_key).address
    procs: list[AnvilProcess] = []
    try:
        for cid in (31337, 31338, 31339):
            procs.append(start_anvil(cid, log_dir=tmp_path, extra_args=["--state", str(tmp_path / f"state-{cid}.json")]))
        chains = [setup_feed(p, [s.address for s in signer_set], 2, op) for p in procs]
        url = f"sqlite:///{tmp_path / 'down.db'}"
        store = Store(url)
        att = prepare_round(store, chains, 1, signer_set, 2)
        down = chains[1]
        attested_block = att.chains[1].blockNumber
        before_hash = down.w3.eth.get_block(attested_block)["hash"]
        down.proc.stop()
        assert not down.proc.is_alive()

        t0 = time.monotonic()
        # backoff 0.5 s, 1 s: the dead chain keeps trying for ~1.5 s, long after the others landed
        slow_retry = RelayOptions(receipt_timeout_s=5, poll_interval_s=0.05, max_attempts=3, backoff_base_s=0.5)
        out = make_relay(store, chains, op_key, options=slow_retry).relay_round(1)
        elapsed = time.monotonic() - t0
        assert out[chains[0].chain_id].state == out[chains[2].chain_id].state == SubmissionState.INCLUDED
        assert out[down.chain_id].state == SubmissionState.RETRY
        assert "31338" in (out[down.chain_id].reason or "") or "connect" in (out[down.chain_id].reason or "").lower()
        assert store.get_round(1).state == RoundState.SUBMITTING  # type: ignore[union-attr]
        # the live chains were included while the dead one was still being retried
        included_at = max(e.at for c in (chains[0], chains[2]) for e in store.submission_events(1, c.chain_id)
                          if e.state == SubmissionState.INCLUDED)
        last_retry = max(e.at for e in store.submission_events(1, down.chain_id) if e.state == SubmissionState.RETRY)
        assert included_at < last_retry and elapsed < 30
        for c in (chains[0], chains[2]):
            assert c.feed.functions.lastRound().call() == 1

        # the chain returns (same port, state reloaded); a restarted relayer resumes the round
        restarted = start_anvil(down.chain_id, port=down.proc.port, log_dir=tmp_path,
                                extra_args=["--state", str(tmp_path / f"state-{down.chain_id}.json")])
        procs[1] = restarted
        # anvil 1.7.1 quirk: after a --state reload its BLOCKHASH opcode no longer returns the hashes
        # its RPC reports for the reloaded blocks (the feed then sees BlockHashMismatch). The chain is
        # moved 256 blocks on, as it would have while the relayer was cut off: blockhash() is then 0
        # for the attested block, and the feed relies on the signers' word (see SolvencyFeed._checkChains).
        assert down.w3.eth.get_block(attested_block)["hash"] == before_hash  # the RPC still agrees
        rpc(down, "anvil_mine", hex(257))
        store.close()
        store = Store(url)
        res = make_relay(store, chains, op_key).resume()
        assert res[1][down.chain_id].state == SubmissionState.INCLUDED
        assert {c: s.state for c, s in res[1].items()} == {c.chain_id: SubmissionState.INCLUDED for c in chains}
        assert store.get_round(1).state == RoundState.DONE  # type: ignore[union-attr]
        for c in chains:
            assert c.feed.functions.lastRound().call() == 1
            assert len(feed_txs(c)) == 1
            assert_nonces_consistent(store, c, op)
    finally:
        for p in procs:
            p.stop()


# ---------------------------------------------------------------- reverting feed, cancel, nonces


def test_reverting_feed_fails_alone(anvil_chains: list[AnvilProcess], signer_set: list[UnsafeLocalKeySigner],
                                    tmp_path: Path) -> None:
    """One feed rejects the proof: its submission fails with the decoded reason and no
    transaction, the other two land, and the round ends failed naming that chain."""
    op_key = key_of("reverting-operator")
    op = Account.from_key(op_key).address
    addrs = [s.address for s in signer_set]
    chains = [setup_feed(p, addrs, 2, op, "RejectingVerifier" if i == 1 else "AcceptingVerifier")
              for i, p in enumerate(anvil_chains)]
    store = Store(f"sqlite:///{tmp_path / 'rev.db'}")
    prepare_round(store, chains, 1, signer_set, 2)
    out = make_relay(store, chains, op_key).relay_round(1)
    bad = out[chains[1].chain_id]
    assert bad.state == SubmissionState.FAILED and bad.reason == "the feed would revert: ProofRejected()"
    assert store.sent_txs(1, chains[1].chain_id) == [] and chains[1].w3.eth.get_transaction_count(op) == 0
    assert out[chains[0].chain_id].state == out[chains[2].chain_id].state == SubmissionState.INCLUDED
    rec = store.get_round(1)
    assert rec is not None and rec.state == RoundState.FAILED
    assert rec.reason == (f"submission failed on {chains[1].chain_id}: the feed would revert: ProofRejected(); "
                          f"included on {chains[0].chain_id}, {chains[2].chain_id}")
    # it is on two feeds: the publish triggers (heartbeat, deviation) measure from it
    from types import SimpleNamespace

    from relayer.pipeline.round import RoundPipeline

    last = RoundPipeline.last_published(SimpleNamespace(store=store))  # type: ignore[arg-type]
    assert last is not None and last.round == 1


class Crash(BaseException):
    """Stands in for the process dying at a chosen point (not an Exception: nothing catches it)."""


def crash_after_recording(store: Store, chain: Chain, op_key: bytes) -> SentTx:
    """Relay round 1 and 'die' right after its transaction is recorded, before it is broadcast."""
    def crash(name: str, _data: dict[str, Any]) -> None:
        if name == "sent_recorded":
            raise Crash()

    with pytest.raises(Crash):
        make_relay(store, [chain], op_key, on_event=crash).relay_round(1)
    (recorded,) = store.sent_txs(1, chain.chain_id)
    return recorded


def test_pending_transaction_of_a_round_that_landed_elsewhere_is_cancelled(
        lone_feed: tuple[Chain, bytes, Store], signer_set: list[UnsafeLocalKeySigner], tmp_path: Path) -> None:
    """Crash after recording (not broadcasting) our transaction; meanwhile another relayer puts the
    round on the feed. The restart must not send the stale submit (it would revert) and must not
    leave its nonce unused: it replaces it with a 0-value self transfer and skips."""
    chain, op_key, store = lone_feed
    op = Account.from_key(op_key).address
    recorded = crash_after_recording(store, chain, op_key)
    assert store.next_nonce(chain.chain_id, op) == 1 and chain.w3.eth.get_transaction_count(op, "pending") == 0

    other_key = key_of("other-relayer")
    tx = chain.w3.eth.send_transaction({"from": chain.w3.eth.accounts[0], "to": Account.from_key(other_key).address,
                                        "value": 10**18})
    chain.w3.eth.wait_for_transaction_receipt(tx)
    other = Store(f"sqlite:///{tmp_path / 'other.db'}")
    prepare_round(other, [chain], 1, signer_set, 2, att=store.get_attestation(1)[0])
    assert make_relay(other, [chain], other_key).relay_round(1)[chain.chain_id].state == SubmissionState.INCLUDED

    gas0 = gas_spent(chain)
    sub = make_relay(store, [chain], op_key).resume()[1][chain.chain_id]
    assert sub.state == SubmissionState.SKIPPED and (sub.reason or "").startswith("already on feed")
    submit, cancel = store.sent_txs(1, chain.chain_id)
    # the cancel's gas is spent too: counted, and stored with the submission
    assert gas_spent(chain) - gas0 == receipt_gas(chain, cancel.tx_hash) == sub.gas_used == 21_000
    assert (submit.tx_hash, submit.status) == (recorded.tx_hash, "replaced")
    assert (cancel.kind, cancel.status, cancel.nonce) == ("cancel", "mined", recorded.nonce)
    mined = chain.w3.eth.get_transaction(cancel.tx_hash)
    assert mined["to"] == op and mined["value"] == 0 and mined["input"] == b""
    assert [t for t in feed_txs(chain) if t["from"] == op] == []  # the stale submit never reached the feed
    assert_nonces_consistent(store, chain, op)


def test_nonce_manager_reconciles_with_the_chain(fresh_anvil: AnvilProcess, tmp_path: Path) -> None:
    from relayer.errors import HaltError
    from relayer.relay.nonce import NonceManager

    w3 = connect(fresh_anvil)
    key = key_of("nonce-operator")
    op = Account.from_key(key).address
    w3.eth.wait_for_transaction_receipt(w3.eth.send_transaction({"from": w3.eth.accounts[0], "to": op, "value": 10**18}))
    store = Store(f"sqlite:///{tmp_path / 'n.db'}")
    nm = NonceManager(store, w3, fresh_anvil.chain_id, op)
    assert nm.reconcile() == 0 and store.next_nonce(fresh_anvil.chain_id, op) == 0
    # a transaction this relayer did not make (same key used elsewhere): never reuse its nonce
    signed = Account.from_key(key).sign_transaction({"type": 2, "chainId": fresh_anvil.chain_id, "nonce": 0, "to": op,
                                                     "value": 0, "gas": 21000, "maxFeePerGas": 10 * GWEI,
                                                     "maxPriorityFeePerGas": GWEI})
    w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(signed.raw_transaction))
    assert NonceManager(store, w3, fresh_anvil.chain_id, op).reconcile() == 1
    # a stored counter ahead of the chain with nothing holding the nonces in between: a gap
    store.set_next_nonce(fresh_anvil.chain_id, op, 3)
    with pytest.raises(HaltError, match=r"nonces \[1, 2\].*refusing to leave a gap"):
        NonceManager(store, w3, fresh_anvil.chain_id, op).reconcile()


def test_nonce_taken_by_a_foreign_transaction_is_not_reused(lone_feed: tuple[Chain, bytes, Store]) -> None:
    """Crash after recording our transaction (nonce 0); before the restart the same key sends
    something else with nonce 0. The restart sees the nonce consumed without any receipt of ours,
    marks our transaction dropped, and submits with the next nonce."""
    chain, op_key, store = lone_feed
    op = Account.from_key(op_key).address
    recorded = crash_after_recording(store, chain, op_key)
    foreign = Account.from_key(op_key).sign_transaction({"type": 2, "chainId": chain.chain_id, "nonce": recorded.nonce,
                                                         "to": op, "value": 1, "gas": 21000, "maxFeePerGas": 10 * GWEI,
                                                         "maxPriorityFeePerGas": GWEI})
    chain.w3.eth.wait_for_transaction_receipt(chain.w3.eth.send_raw_transaction(foreign.raw_transaction))

    sub = make_relay(store, [chain], op_key).resume()[1][chain.chain_id]
    assert sub.state == SubmissionState.INCLUDED and sub.nonce == recorded.nonce + 1
    first, second = store.sent_txs(1, chain.chain_id)
    assert (first.tx_hash, first.status) == (recorded.tx_hash, "dropped") and second.status == "mined"
    assert "dropped" in states(store, 1, chain.chain_id)
    assert chain.feed.functions.lastRound().call() == 1
    assert_nonces_consistent(store, chain, op)


def test_rotated_signer_set_is_not_sent_an_old_set_attestation(lone_feed: tuple[Chain, bytes, Store],
                                                                signer_set: list[UnsafeLocalKeySigner]) -> None:
    chain, op_key, store = lone_feed
    owner = chain.w3.eth.accounts[0]
    chain.w3.eth.wait_for_transaction_receipt(
        chain.feed.functions.rotateSigners([s.address for s in signer_set], 2).transact({"from": owner}))
    sub = make_relay(store, [chain], op_key).relay_round(1)[chain.chain_id]
    assert sub.state == SubmissionState.FAILED
    assert "signer set version 1" in (sub.reason or "") and "version 2" in (sub.reason or "")
    assert store.sent_txs() == [] and chain.w3.eth.get_transaction_count(Account.from_key(op_key).address) == 0


def test_a_chain_failing_before_its_submission_exists_raises_its_own_error(tmp_path: Path) -> None:
    """A submitter that fails before the (round, chain) submission row exists (here: a storage
    error) surfaces that error from relay_round, not an AssertionError that hides it."""
    from relayer.errors import StorageError

    store = Store(f"sqlite:///{tmp_path / 'r.db'}")
    entry = ChainEntry(chainId=1, blockNumber=1, blockHash=keccak(b"b"), assets=2, liabilities=1, maintenanceMargin=0,
                       badDebt=0, underMargined=0, root=b"\x01" * 32, marketCommitment=b"\x02" * 32,
                       proofDigest=keccak(b"p"))
    store.create_round(1, {})
    store.advance_round(1, RoundState.PROVEN)
    store.save_attestation(Attestation.build(1, 1, 1, [entry], b"bundle"), b"bundle")
    store.advance_round(1, RoundState.SIGNED)

    class BrokenSubmitter:
        chain_id, name = 1, "broken"

        def submit(self, round: int) -> Any:
            raise StorageError("database error on sqlite:///gone.db: disk I/O error")

    relay = Relay(store, [BrokenSubmitter()])  # type: ignore[list-item]
    with pytest.raises(StorageError, match="disk I/O error"):
        relay.relay_round(1)
    assert store.get_round(1).state == RoundState.SUBMITTING  # type: ignore[union-attr]
    assert store.get_submission(1, 1) is None


def test_crash_between_seeing_the_receipt_and_recording_inclusion_still_ends_included(
        lone_feed: tuple[Chain, bytes, Store], monkeypatch: pytest.MonkeyPatch) -> None:
    """The process dies after our transaction was mined but before the submission is recorded as
    included. The restart must find the receipt again and record `included` with block and gas, not
    `skipped (already on feed)`: the round on the feed is ours. (Seen as a flaky kill -9 test: the
    transaction's `mined` mark and the submission's state were two database transactions.)"""
    chain, op_key, store = lone_feed
    real = Store.transition

    def dies_at_included(self: Store, round: int, chain_id: int, state: SubmissionState, *a: Any, **kw: Any) -> Any:
        if state == SubmissionState.INCLUDED:
            raise Crash()
        return real(self, round, chain_id, state, *a, **kw)

    monkeypatch.setattr(Store, "transition", dies_at_included)
    gas0 = gas_spent(chain)
    with pytest.raises(Crash):
        make_relay(store, [chain], op_key).relay_round(1)
    assert gas_spent(chain) == gas0  # nothing recorded, nothing counted: the restart settles it
    monkeypatch.setattr(Store, "transition", real)
    assert chain.feed.functions.lastRound().call() == 1  # our transaction landed
    (tx,) = store.sent_txs(1, chain.chain_id)
    assert tx.status == "sent"  # nothing about the outcome was recorded half-way

    sub = make_relay(store, [chain], op_key).resume()[1][chain.chain_id]
    assert sub.state == SubmissionState.INCLUDED, sub.reason
    assert sub.tx_hash == tx.tx_hash and sub.gas_used and sub.block_number
    assert [t.status for t in store.sent_txs(1, chain.chain_id)] == ["mined"]
    assert gas_spent(chain) - gas0 == receipt_gas(chain, tx.tx_hash) == sub.gas_used
    # resuming again (a restart, the round done) finds nothing to settle and counts nothing
    make_relay(store, [chain], op_key).resume()
    assert gas_spent(chain) - gas0 == sub.gas_used
    assert_nonces_consistent(store, chain, Account.from_key(op_key).address)


def test_gas_of_a_mined_reverted_submit_is_counted_once(lone_feed: tuple[Chain, bytes, Store]) -> None:
    """Our submit passes eth_estimateGas but is mined after the attestation aged past the feed's
    maxAge (3600 s): it reverts AttestationTooOld in the block. Its gas was spent: counted once,
    stored with the failed submission; a later resume counts nothing more."""
    chain, op_key, store = lone_feed
    rpc(chain, "evm_setAutomine", False)
    sent: list[str] = []

    def hook(name: str, data: dict[str, Any]) -> None:
        if name == "broadcast" and not sent:
            sent.append(data["tx_hash"])
            rpc(chain, "evm_increaseTime", hex(4000))
            rpc(chain, "evm_mine")
            rpc(chain, "evm_setAutomine", True)

    gas0 = gas_spent(chain)
    sub = make_relay(store, [chain], op_key, on_event=hook).relay_round(1)[chain.chain_id]
    assert sub.state == SubmissionState.FAILED and f"{sent[0]} reverted in block" in (sub.reason or "")
    assert chain.w3.eth.get_transaction_receipt(sent[0])["status"] == 0
    assert chain.feed.functions.lastRound().call() == 0
    assert gas_spent(chain) - gas0 == receipt_gas(chain, sent[0]) == sub.gas_used > 21_000
    assert [t.status for t in store.sent_txs(1, chain.chain_id)] == ["mined"]
    make_relay(store, [chain], op_key).resume()  # the round is failed: nothing to resume
    assert gas_spent(chain) - gas0 == sub.gas_used
