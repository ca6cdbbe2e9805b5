"""The watcher on a real seeded anvil chain: proven snapshots, RPCs that lie (through tests/rpc_proxy.py),
disagreeing / unreachable / slow endpoints, confirmations and the finalized tag."""

from __future__ import annotations

import time
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_utils import function_signature_to_4byte_selector
from web3 import Web3

from relayer.config import ChainConfig
from relayer.devnet.anvil import AnvilProcess, _rpc, free_port, start_anvil
from relayer.devnet.deploy import ChainDeployment, deploy_chain
from relayer.errors import ChainError
from relayer.watch import chain_assets, take_snapshot, take_snapshots
from relayer.watch.snapshot import AGGREGATOR_LATEST_ROUND_SLOT, aggregator_round_slot, vault_holding_slot
from tests.rpc_proxy import RpcProxy, call_result, for_address, header_field, proof_leaf, proof_value

pytestmark = pytest.mark.anvil

CHAIN_ID = 31337


def chain_config(dep: ChainDeployment, rpc: list[str], **extra: Any) -> ChainConfig:
    doc: dict[str, Any] = {
        "name": "devnet-a", "chain_id": dep.chain_id, "rpc": rpc, "vault": dep.vault, "feed": dep.feed,
        "assets": [{"symbol": a.symbol, "token": a.token, "price_feed": a.price_feed, "decimals": a.decimals,
                    "haircut_bps": a.haircut_bps} for a in dep.assets],
    }
    doc.update(extra)
    if "confirmations" not in doc and "finality" not in doc:
        doc["confirmations"] = 0
    return ChainConfig.model_validate(doc)


def seeded(tmp: Path, chain_index: int = 0) -> tuple[AnvilProcess, ChainDeployment]:
    proc = start_anvil(CHAIN_ID, log_dir=tmp)
    try:
        w3 = Web3(Web3.HTTPProvider(proc.rpc_url))
        dep = deploy_chain(w3, chain_index, [w3.eth.accounts[8]], 1)
    except BaseException:
        proc.stop()
        raise
    return proc, dep


@pytest.fixture(scope="module")
def devnet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[AnvilProcess, ChainDeployment]]:
    """A seeded chain that the tests in this module only read (mining empty blocks at most)."""
    proc, dep = seeded(tmp_path_factory.mktemp("watch"))
    try:
        yield proc, dep
    finally:
        proc.stop()


@pytest.fixture()
def proxy(devnet: tuple[AnvilProcess, ChainDeployment]) -> Iterator[RpcProxy]:
    with RpcProxy(devnet[0].rpc_url) as p:
        yield p


def sel(signature: str) -> bytes:
    return function_signature_to_4byte_selector(signature)


# ---- the honest case ---------------------------------------------------------------------------


def test_snapshot_equals_seeded_deposits_and_prices(devnet: tuple[AnvilProcess, ChainDeployment]) -> None:
    proc, dep = devnet
    snap = take_snapshot(chain_config(dep, [proc.rpc_url]))
    head = int(str(_rpc(proc.rpc_url, "eth_blockNumber")), 16)
    block = _rpc(proc.rpc_url, "eth_getBlockByNumber", [hex(head), False])
    assert isinstance(block, dict)
    assert snap.chain_id == CHAIN_ID and snap.block_number == head
    assert snap.block_hash.hex() == block["hash"][2:] and snap.state_root.hex() == block["stateRoot"][2:]
    assert snap.timestamp == int(block["timestamp"], 16)
    assert snap.vault == dep.vault
    assert [h.symbol for h in snap.holdings] == [a.symbol for a in dep.assets]
    for h, a in zip(snap.holdings, dep.assets):
        assert h.amount == a.total_deposited  # what the seeding credited, to the last unit
        assert h.price.answer == a.price_e8 and h.price.decimals == 8
        assert h.price.round_id == 2 and h.price.answered_in_round == 2  # deploy pushes two rounds
        assert 0 < h.price.started_at == h.price.updated_at <= snap.timestamp
        assert h.token_decimals == a.decimals and h.haircut_bps == a.haircut_bps
    # A_i by an independent exact computation (rationals, then floor per asset)
    total, values = chain_assets(snap)
    expected = [int(Fraction(a.total_deposited, 10**a.decimals) * Fraction(a.price_e8, 10**8)
                    * Fraction(10_000 - a.haircut_bps, 10_000) * 10**6) for a in dep.assets]
    assert [v.value for v in values] == expected and total == sum(expected)
    # and the proven values equal what the contracts say
    w3 = Web3(Web3.HTTPProvider(proc.rpc_url))
    for h in snap.holdings:
        data = w3.eth.call({"to": dep.vault, "data": "0x" + (sel("holdings(address)")
                                                               + abi_encode(["address"], [h.token])).hex()})
        assert abi_decode(["uint256"], data)[0] == h.amount


def test_confirmations_respected(devnet: tuple[AnvilProcess, ChainDeployment]) -> None:
    proc, dep = devnet
    for _ in range(3):
        _rpc(proc.rpc_url, "evm_mine")
    head = int(str(_rpc(proc.rpc_url, "eth_blockNumber")), 16)
    snap = take_snapshot(chain_config(dep, [proc.rpc_url], confirmations=3))
    assert snap.block_number == head - 3
    block = _rpc(proc.rpc_url, "eth_getBlockByNumber", [hex(head - 3), False])
    assert isinstance(block, dict) and snap.block_hash.hex() == block["hash"][2:]
    with pytest.raises(ChainError, match=rf"head is block {head}, fewer than the {head + 1} confirmations"):
        take_snapshot(chain_config(dep, [proc.rpc_url], confirmations=head + 1))


def test_finalized_tag_followed(devnet: tuple[AnvilProcess, ChainDeployment]) -> None:
    proc, dep = devnet
    _rpc(proc.rpc_url, "anvil_mine", [hex(80)])  # anvil finalizes head - 64; get past the seeding
    fin = _rpc(proc.rpc_url, "eth_getBlockByNumber", ["finalized", False])
    assert isinstance(fin, dict) and int(fin["number"], 16) > dep.block_number
    snap = take_snapshot(chain_config(dep, [proc.rpc_url], finality="finalized"))
    assert snap.block_number == int(fin["number"], 16) and snap.block_hash.hex() == fin["hash"][2:]


def test_snapshot_at_an_older_block_sees_the_older_state(devnet: tuple[AnvilProcess, ChainDeployment]) -> None:
    proc, dep = devnet
    # a few blocks before the seeding ended, its last WETH deposit had not happened yet
    block = dep.block_number - 5
    snap = take_snapshot(chain_config(dep, [proc.rpc_url]), block_number=block)
    assert snap.block_number == block
    w3 = Web3(Web3.HTTPProvider(proc.rpc_url))
    vault = w3.eth.contract(address=dep.vault, abi=[{"type": "function", "name": "holdings", "stateMutability": "view",
                                                     "inputs": [{"name": "t", "type": "address"}],
                                                     "outputs": [{"name": "", "type": "uint256"}]}])
    then = [vault.functions.holdings(a.token).call(block_identifier=block) for a in dep.assets]
    assert [h.amount for h in snap.holdings] == then
    assert then[1] < dep.assets[1].total_deposited


# ---- endpoints that lie --------------------------------------------------------------------------


def test_tampered_proof_value_rejected(devnet: tuple[AnvilProcess, ChainDeployment], proxy: RpcProxy) -> None:
    proc, dep = devnet
    usdc = dep.assets[0]
    proxy.rewrite("eth_getProof", for_address(dep.vault, proof_value(vault_holding_slot(usdc.token),
                                                                       usdc.total_deposited * 2)))
    with pytest.raises(ChainError, match=rf"{dep.vault} slot 0x[0-9a-f]{{64}}: reports value "
                                         rf"{usdc.total_deposited * 2} but its proof proves {usdc.total_deposited}"):
        take_snapshot(chain_config(dep, [proxy.url]))


def test_tampered_proof_leaf_rejected(devnet: tuple[AnvilProcess, ChainDeployment], proxy: RpcProxy) -> None:
    proc, dep = devnet
    usdc = dep.assets[0]
    proxy.rewrite("eth_getProof", for_address(dep.vault, proof_leaf(vault_holding_slot(usdc.token),
                                                                      usdc.total_deposited + 1)))
    with pytest.raises(ChainError, match=r"proof node \d+ does not hash to the reference in node \d+"):
        take_snapshot(chain_config(dep, [proxy.url]))


def test_tampered_price_proof_rejected(devnet: tuple[AnvilProcess, ChainDeployment], proxy: RpcProxy) -> None:
    proc, dep = devnet
    weth = dep.assets[1]
    slot = aggregator_round_slot(2)  # the latest round's answer
    proxy.rewrite("eth_getProof", for_address(weth.price_feed, proof_leaf(slot, weth.price_e8 * 3)))
    with pytest.raises(ChainError, match="does not hash"):
        take_snapshot(chain_config(dep, [proxy.url]))
    proxy.clear()
    # an older round presented as the latest: its values are proven, but latestRoundData disagrees
    proxy.rewrite("eth_getProof", for_address(weth.price_feed, proof_value(AGGREGATOR_LATEST_ROUND_SLOT, 1)))
    with pytest.raises(ChainError, match="reports value 1 but its proof proves 2"):
        take_snapshot(chain_config(dep, [proxy.url]))


def test_tampered_eth_call_balance_rejected_while_proof_is_right(
    devnet: tuple[AnvilProcess, ChainDeployment], proxy: RpcProxy
) -> None:
    proc, dep = devnet
    weth = dep.assets[1]

    def inflate(data: bytes) -> bytes:
        return abi_encode(["uint256"], [abi_decode(["uint256"], data)[0] * 10])

    proxy.rewrite("eth_call", for_address(dep.vault, call_result(sel("holdings(address)"), inflate)))
    with pytest.raises(ChainError, match=rf"eth_call vault.holdings\(USDC\) = {dep.assets[0].total_deposited * 10} but "
                                         rf"the storage proof at block \d+ proves {dep.assets[0].total_deposited}"):
        take_snapshot(chain_config(dep, [proxy.url]))
    proxy.clear()

    def price_up(data: bytes) -> bytes:
        r, answer, s, u, a = abi_decode(["uint80", "int256", "uint256", "uint256", "uint80"], data)
        return abi_encode(["uint80", "int256", "uint256", "uint256", "uint80"], [r, answer + 1, s, u, a])

    proxy.rewrite("eth_call", for_address(weth.price_feed, call_result(sel("latestRoundData()"), price_up)))
    with pytest.raises(ChainError, match=r"eth_call latestRoundData\(\) = .* but the storage proof"):
        take_snapshot(chain_config(dep, [proxy.url]))


def test_tampered_header_rejected_by_hash_check(devnet: tuple[AnvilProcess, ChainDeployment], proxy: RpcProxy) -> None:
    proc, dep = devnet
    # a state root under which the liar could prove anything it likes: caught before any proof is read
    proxy.rewrite("eth_getBlockByNumber", header_field("stateRoot", "0x" + "ab" * 32))
    with pytest.raises(ChainError, match=rf"{proxy.url}: block 0x[0-9a-f]+ header does not hash to its claimed hash"):
        take_snapshot(chain_config(dep, [proxy.url]))
    assert "eth_getProof" not in proxy.calls
    proxy.clear()
    proxy.rewrite("eth_getBlockByNumber", header_field("timestamp", "0x1"))
    with pytest.raises(ChainError, match="does not hash to its claimed hash"):
        take_snapshot(chain_config(dep, [proxy.url]))


def test_wrong_token_decimals_in_config_rejected(devnet: tuple[AnvilProcess, ChainDeployment]) -> None:
    proc, dep = devnet
    cfg = chain_config(dep, [proc.rpc_url])
    bad = cfg.model_copy(update={"assets": (cfg.assets[0].model_copy(update={"decimals": 18}),) + cfg.assets[1:]})
    with pytest.raises(ChainError, match=r"token USDC .* has 6 decimals but the config says 18"):
        take_snapshot(bad)


# ---- several endpoints ---------------------------------------------------------------------------


def test_two_agreeing_rpcs_accepted(devnet: tuple[AnvilProcess, ChainDeployment], proxy: RpcProxy) -> None:
    proc, dep = devnet
    snap = take_snapshot(chain_config(dep, [proc.rpc_url, proxy.url]))
    assert snap.rpc_urls == (proc.rpc_url, proxy.url)
    assert "eth_getProof" in proxy.calls  # the second endpoint's answers were proven too


def test_two_rpcs_that_disagree_rejected(devnet: tuple[AnvilProcess, ChainDeployment], tmp_path: Path) -> None:
    proc, dep = devnet
    # another chain with the same chain id and, from the same deployer nonces, the same addresses:
    # the second URL serves a fork with its own history
    other, dep2 = seeded(tmp_path)
    try:
        assert dep2.vault == dep.vault
        for _ in range(3):  # both at the same height, so the block choice is the same
            n1 = int(str(_rpc(proc.rpc_url, "eth_blockNumber")), 16)
            n2 = int(str(_rpc(other.rpc_url, "eth_blockNumber")), 16)
            for _ in range(abs(n1 - n2)):
                _rpc(other.rpc_url if n2 < n1 else proc.rpc_url, "evm_mine")
        with pytest.raises(ChainError, match=rf"RPC endpoints disagree on block \d+: {proc.rpc_url} and "
                                             rf"{other.rpc_url} return hashes"):
            take_snapshot(chain_config(dep, [proc.rpc_url, other.rpc_url]))
    finally:
        other.stop()


def test_rpc_serving_another_chain_rejected(devnet: tuple[AnvilProcess, ChainDeployment]) -> None:
    proc, dep = devnet
    cfg = chain_config(dep, [proc.rpc_url]).model_copy(update={"chain_id": 1})
    with pytest.raises(ChainError, match=rf"{proc.rpc_url} serves chain id {CHAIN_ID}, but the config says 1"):
        take_snapshot(cfg)


def test_unreachable_rpc_names_the_url(devnet: tuple[AnvilProcess, ChainDeployment]) -> None:
    proc, dep = devnet
    dead = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(ChainError, match=rf"{dead}: connection refused \(eth_chainId\)"):
        take_snapshot(chain_config(dep, [proc.rpc_url, dead]))


def test_slow_rpc_times_out_within_the_timeout(devnet: tuple[AnvilProcess, ChainDeployment], proxy: RpcProxy) -> None:
    proc, dep = devnet
    proxy.delay("eth_getProof", 5.0)
    t0 = time.monotonic()
    with pytest.raises(ChainError, match=rf"{proxy.url}: no answer to eth_getProof within 0.5 s"):
        take_snapshot(chain_config(dep, [proc.rpc_url, proxy.url]), timeout_s=0.5)
    # the honest endpoint's reads plus one 0.5 s timeout; far below the 5 s the proxy would take
    assert time.monotonic() - t0 < 2.5


def test_one_chain_down_does_not_hold_up_the_others(devnet: tuple[AnvilProcess, ChainDeployment]) -> None:
    proc, dep = devnet
    good = chain_config(dep, [proc.rpc_url])
    dead_url = f"http://127.0.0.1:{free_port()}"
    dead = chain_config(dep, [dead_url]).model_copy(update={"name": "devnet-b", "chain_id": 31338})
    out = take_snapshots([good, dead], timeout_s=2)
    snap, err = out["devnet-a"], out["devnet-b"]
    assert not isinstance(snap, ChainError) and snap.holdings[0].amount == dep.assets[0].total_deposited
    assert isinstance(err, ChainError) and dead_url in str(err)


def test_garbled_finalized_block_number_is_a_chain_error() -> None:
    """An endpoint whose 'finalized' block carries a non-hex number is named in a ChainError (the
    pipeline keeps other chains' errors apart by that type), never a bare ValueError."""
    from types import SimpleNamespace

    from relayer.watch.snapshot import select_block

    class Endpoint:
        name = "http://bad-node"

        def __init__(self, number: Any) -> None:
            self.number = number

        def get_block(self, tag: Any) -> dict[str, Any]:
            assert tag == "finalized"
            return {"number": self.number}

    chain = SimpleNamespace(name="devnet-a", head_rule="finalized")
    assert select_block(chain, [Endpoint("0x10"), Endpoint("0xc")]) == 12  # type: ignore[arg-type]
    for garbled in ("0xzz", "0x", 12, None):
        with pytest.raises(ChainError, match="http://bad-node finalized block has no valid number"):
            select_block(chain, [Endpoint("0x10"), Endpoint(garbled)])  # type: ignore[arg-type]


# ---- oracle price staleness ------------------------------------------------------------------------


def test_stale_price_refused_naming_chain_asset_age_and_limit(devnet: tuple[AnvilProcess, ChainDeployment]) -> None:
    from relayer import metrics

    proc, dep = devnet
    # the aggregators were last updated at the seeding; 200 s pass with no price update
    _rpc(proc.rpc_url, "evm_increaseTime", [200])
    _rpc(proc.rpc_url, "evm_mine")
    snap = take_snapshot(chain_config(dep, [proc.rpc_url]))  # default limit (a day): accepted
    ages = [snap.timestamp - h.price.updated_at for h in snap.holdings]
    assert all(a >= 200 for a in ages)
    for h, age in zip(snap.holdings, ages):
        assert metrics.REGISTRY.get_sample_value("relayer_price_age_seconds",
                                                 {"chain": "devnet-a", "asset": h.symbol}) == age
    # a chain-level limit below the age: the first asset is refused, with its age and the limit
    with pytest.raises(ChainError, match=r"devnet-a: USDC/USD price .* is (\d+) s old at block \d+ .* limit is "
                                         r"100 s \(max_price_age_s\)"):
        take_snapshot(chain_config(dep, [proc.rpc_url], max_price_age_s=100))
    # an asset-level limit overrides the chain's: only WETH is held to 100 s
    cfg = chain_config(dep, [proc.rpc_url], max_price_age_s=10_000)
    weth_strict = cfg.model_copy(update={"assets": (cfg.assets[0], cfg.assets[1].model_copy(
        update={"max_price_age_s": 100}))})
    with pytest.raises(ChainError, match=r"devnet-a: WETH/USD price .* limit is 100 s"):
        take_snapshot(weth_strict)
    assert take_snapshot(cfg).block_number == snap.block_number  # both within 10,000 s


def test_price_from_the_future_refused(devnet: tuple[AnvilProcess, ChainDeployment]) -> None:
    proc, dep = devnet
    weth = dep.assets[1]
    slot = hex(aggregator_round_slot(2) + 1)  # round 2's packed startedAt | updatedAt | answeredInRound
    original = str(_rpc(proc.rpc_url, "eth_getStorageAt", [weth.price_feed, slot, "latest"]))
    packed = int(original, 16)
    head = _rpc(proc.rpc_url, "eth_getBlockByNumber", ["latest", False])
    assert isinstance(head, dict)
    future = int(head["timestamp"], 16) + 1000
    forged = (packed & ~(((1 << 64) - 1) << 64)) | (future << 64)  # updatedAt 1000 s ahead of the chain
    _rpc(proc.rpc_url, "anvil_setStorageAt", [weth.price_feed, slot, "0x" + forged.to_bytes(32, "big").hex()])
    _rpc(proc.rpc_url, "evm_mine")
    try:
        with pytest.raises(ChainError, match=rf"devnet-a: WETH/USD price .* has updatedAt {future}, \d+ s after "
                                             r"snapshot block \d+ .*from the future"):
            take_snapshot(chain_config(dep, [proc.rpc_url]))
    finally:
        _rpc(proc.rpc_url, "anvil_setStorageAt", [weth.price_feed, slot, "0x" + packed.to_bytes(32, "big").hex()])
        _rpc(proc.rpc_url, "evm_mine")
    take_snapshot(chain_config(dep, [proc.rpc_url]))  # restored: accepted again
