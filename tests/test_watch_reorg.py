"""Reorgs below the confirmation depth: the tracker sees that the snapshot block is no longer
canonical and a new snapshot pins the new chain (anvil_reorg replaces the last blocks; here the
new branch carries a deposit the old one did not)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from eth_abi import encode as abi_encode
from eth_utils import function_signature_to_4byte_selector
from web3 import Web3

from relayer.devnet.anvil import AnvilProcess, _rpc
from relayer.devnet.deploy import ChainDeployment
from relayer.errors import ChainError
from relayer.watch import ReorgTracker, take_snapshot
from tests.rpc_proxy import RpcProxy, header_field
from tests.test_watch import chain_config, seeded

pytestmark = pytest.mark.anvil

CONFIRMATIONS = 2


@pytest.fixture()
def chain(tmp_path: Path) -> Iterator[tuple[AnvilProcess, ChainDeployment]]:
    proc, dep = seeded(tmp_path)  # private: these tests rewrite history
    try:
        yield proc, dep
    finally:
        proc.stop()


def _call(signature: str, types: list[str], args: list[Any]) -> str:
    return "0x" + (function_signature_to_4byte_selector(signature) + abi_encode(types, args)).hex()


def _head(url: str) -> int:
    return int(str(_rpc(url, "eth_blockNumber")), 16)


def test_reorg_below_confirmation_depth_detected_and_snapshot_redone(chain: tuple[AnvilProcess, ChainDeployment]) -> None:
    proc, dep = chain
    url = proc.rpc_url
    _rpc(url, "anvil_mine", [hex(5)])
    cfg = chain_config(dep, [url], confirmations=CONFIRMATIONS)
    old = take_snapshot(cfg)
    assert old.block_number == _head(url) - CONFIRMATIONS
    tracker = ReorgTracker(cfg)
    tracker.record(old)
    assert tracker.check() is None
    _rpc(url, "evm_mine")
    assert tracker.check() is None  # a new block on top is not a reorg

    # replace the last CONFIRMATIONS + 2 blocks (deeper than the snapshot) by a branch with a new deposit
    usdc = dep.assets[0]
    w3 = Web3(Web3.HTTPProvider(url))
    depositor, extra = w3.eth.accounts[1], 777_000_001
    # explicit nonces and gas: anvil_reorg estimates each transaction alone (the deposit would fail
    # estimation before the approve) and does not count the branch's earlier transactions
    n_dep, n_who = w3.eth.get_transaction_count(dep.deployer), w3.eth.get_transaction_count(depositor)
    mint = _call("mint(address,uint256)", ["address", "uint256"], [depositor, extra])
    approve = _call("approve(address,uint256)", ["address", "uint256"], [dep.vault, extra])
    deposit = _call("deposit(address,uint256,address)", ["address", "uint256", "address"], [usdc.token, extra, depositor])
    txs = [
        {"from": dep.deployer, "nonce": hex(n_dep), "to": usdc.token, "data": mint},
        {"from": depositor, "nonce": hex(n_who), "to": usdc.token, "data": approve},
        {"from": depositor, "nonce": hex(n_who + 1), "gas": hex(300_000), "to": dep.vault, "data": deposit},
    ]
    depth = CONFIRMATIONS + 2
    head_before = _head(url)
    _rpc(url, "anvil_reorg", [depth, [[tx, 0] for tx in txs]])
    assert _head(url) == head_before

    event = tracker.check()
    assert event is not None
    assert event.number == old.block_number and event.pinned_hash == old.block_hash
    assert event.canonical_hash is not None and event.canonical_hash != old.block_hash
    assert "the snapshot must be redone" in str(event)

    new = take_snapshot(cfg)
    assert new.block_number == _head(url) - CONFIRMATIONS
    canonical = _rpc(url, "eth_getBlockByNumber", [hex(new.block_number), False])
    assert isinstance(canonical, dict) and new.block_hash.hex() == canonical["hash"][2:]
    again = take_snapshot(cfg, block_number=old.block_number)  # the same height on the new branch
    assert again.block_hash == event.canonical_hash and again.state_root != old.state_root
    assert new.holding("USDC").amount == usdc.total_deposited + extra  # the new branch's state, proven
    assert old.holding("USDC").amount == usdc.total_deposited
    tracker.record(new)
    assert tracker.check() is None


def test_chain_rolled_back_below_the_snapshot_is_a_reorg(chain: tuple[AnvilProcess, ChainDeployment]) -> None:
    proc, dep = chain
    cfg = chain_config(dep, [proc.rpc_url], confirmations=0)
    snap = take_snapshot(cfg)
    tracker = ReorgTracker(cfg)
    tracker.record(snap)
    _rpc(proc.rpc_url, "anvil_rollback", [2])  # the chain is now shorter than the pinned height
    event = tracker.check()
    assert event is not None and event.canonical_hash is None
    assert "no block (the chain is shorter)" in str(event)


def test_tracker_checks_every_endpoint_and_their_headers(chain: tuple[AnvilProcess, ChainDeployment]) -> None:
    proc, dep = chain
    with RpcProxy(proc.rpc_url) as proxy:
        cfg = chain_config(dep, [proc.rpc_url, proxy.url], confirmations=1)
        tracker = ReorgTracker(cfg)
        with pytest.raises(ChainError, match="no snapshot recorded"):
            tracker.check()
        tracker.record(take_snapshot(cfg))
        assert tracker.check() is None
        # a forged hash claim from the second endpoint is caught by the header check, not taken as a reorg
        proxy.rewrite("eth_getBlockByNumber", header_field("hash", "0x" + "11" * 32))
        with pytest.raises(ChainError, match=rf"{proxy.url}: block .* does not hash to its claimed hash"):
            tracker.check()
        proxy.clear()
        # an endpoint that cannot answer is an error, never "no reorg"
        proxy.delay("*", 3.0)
        slow = ReorgTracker(cfg, timeout_s=0.3)
        slow.record(take_snapshot(chain_config(dep, [proc.rpc_url], confirmations=1)))
        with pytest.raises(ChainError, match="no answer to eth_getBlockByNumber within 0.3 s"):
            slow.check()


def test_tracker_refuses_another_chains_snapshot(chain: tuple[AnvilProcess, ChainDeployment]) -> None:
    proc, dep = chain
    snap = take_snapshot(chain_config(dep, [proc.rpc_url]))
    other = chain_config(dep, [proc.rpc_url]).model_copy(update={"chain_id": 5})
    with pytest.raises(ChainError, match="given a snapshot of chain 31337"):
        ReorgTracker(other).record(snap)
