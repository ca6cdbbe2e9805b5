"""CollateralVault, TestERC20 and PriceAggregator on Anvil: behaviour, events, rejects, and the
pinned storage slot of CollateralVault.totalHeld (what the watcher proves with eth_getProof)."""

from __future__ import annotations

from typing import Any

import pytest
from eth_abi import encode as abi_encode
from eth_utils import keccak
from web3 import Web3

from contract_helpers import connect, deploy_any, events, expect_revert, increase_time, send, snapshot

pytestmark = pytest.mark.anvil

ZERO = "0x" + "00" * 20


@pytest.fixture(scope="module")
def module_chain(anvil):  # type: ignore[no-untyped-def]
    w3 = connect(anvil)
    with snapshot(w3):
        a = w3.eth.accounts
        usdc = deploy_any(w3, "TestERC20", "USD Coin", "USDC", 6)
        weth = deploy_any(w3, "TestERC20", "Wrapped Ether", "WETH", 18)
        vault = deploy_any(w3, "CollateralVault", a[0])
        send(vault.functions.addAsset(usdc.address), {"from": a[0]})
        for acct in (a[1], a[2]):
            send(usdc.functions.mint(acct, 10**12), {"from": a[0]})
            send(usdc.functions.approve(vault.address, 2**256 - 1), {"from": acct})
        yield w3, usdc, weth, vault


@pytest.fixture()
def chain(module_chain):  # type: ignore[no-untyped-def]
    with snapshot(module_chain[0]):
        yield module_chain


def total_held_slot(token: str) -> bytes:
    """keccak256(abi.encode(token, uint256(0))): totalHeld is the vault's slot-0 mapping."""
    return keccak(abi_encode(["address", "uint256"], [token, 0]))


# ------------------------------------------------------------------ ERC-20


def test_erc20_mint_transfer_allowance(chain: Any) -> None:
    w3, usdc, _, _ = chain
    a = w3.eth.accounts
    assert (usdc.functions.name().call(), usdc.functions.symbol().call(), usdc.functions.decimals().call()) == (
        "USD Coin", "USDC", 6)
    r = send(usdc.functions.transfer(a[3], 5), {"from": a[1]})
    (ev,) = events(usdc, r, "Transfer")
    assert (ev["args"]["from"], ev["args"]["to"], ev["args"]["value"]) == (a[1], a[3], 5)
    assert usdc.functions.balanceOf(a[3]).call() == 5
    expect_revert(usdc.functions.transfer(a[1], 6), "InsufficientBalance", {"from": a[3]})
    expect_revert(usdc.functions.mint(a[3], 1), "NotOwner", {"from": a[1]})
    expect_revert(usdc.functions.transferFrom(a[1], a[3], 1), "InsufficientAllowance", {"from": a[4]})
    send(usdc.functions.approve(a[4], 3), {"from": a[1]})
    send(usdc.functions.transferFrom(a[1], a[4], 3), {"from": a[4]})
    assert usdc.functions.allowance(a[1], a[4]).call() == 0
    assert usdc.functions.totalSupply().call() == 2 * 10**12


# ------------------------------------------------------------------ vault


def test_vault_deposit_withdraw_holdings_events(chain: Any) -> None:
    w3, usdc, _, vault = chain
    a = w3.eth.accounts
    r = send(vault.functions.deposit(usdc.address, 700, a[5]), {"from": a[1]})
    (ev,) = events(vault, r, "Deposited")
    assert dict(ev["args"]) == {"token": usdc.address, "from": a[1], "account": a[5], "amount": 700}
    send(vault.functions.deposit(usdc.address, 300, a[6]), {"from": a[2]})
    assert vault.functions.balanceOf(a[5], usdc.address).call() == 700
    assert vault.functions.holdings(usdc.address).call() == 1000
    assert usdc.functions.balanceOf(vault.address).call() == 1000

    r = send(vault.functions.withdraw(usdc.address, 200, a[7]), {"from": a[5]})
    (ev,) = events(vault, r, "Withdrawn")
    assert dict(ev["args"]) == {"token": usdc.address, "account": a[5], "to": a[7], "amount": 200}
    assert usdc.functions.balanceOf(a[7]).call() == 200
    assert vault.functions.balanceOf(a[5], usdc.address).call() == 500
    assert vault.functions.holdings(usdc.address).call() == 800
    assert vault.functions.totalHeld(usdc.address).call() == 800


def test_vault_rejects(chain: Any) -> None:
    w3, usdc, weth, vault = chain
    a = w3.eth.accounts
    send(vault.functions.deposit(usdc.address, 100, a[5]), {"from": a[1]})
    expect_revert(vault.functions.deposit(weth.address, 1, a[5]), "UnknownAsset", {"from": a[1]})
    expect_revert(vault.functions.withdraw(weth.address, 1, a[5]), "UnknownAsset", {"from": a[5]})
    expect_revert(vault.functions.holdings(weth.address), "UnknownAsset")
    expect_revert(vault.functions.deposit(usdc.address, 0, a[5]), "ZeroAmount", {"from": a[1]})
    expect_revert(vault.functions.withdraw(usdc.address, 0, a[5]), "ZeroAmount", {"from": a[5]})
    expect_revert(vault.functions.deposit(usdc.address, 1, ZERO), "ZeroAddress", {"from": a[1]})
    expect_revert(vault.functions.withdraw(usdc.address, 101, a[5]), "InsufficientBalance", {"from": a[5]})
    # balances are per account: the depositor cannot withdraw what it credited to someone else
    expect_revert(vault.functions.withdraw(usdc.address, 1, a[1]), "InsufficientBalance", {"from": a[1]})
    # a deposit without allowance fails inside the token
    expect_revert(vault.functions.deposit(usdc.address, 1, a[3]), "TransferFailed", {"from": a[3]})


def test_vault_asset_listing(chain: Any) -> None:
    w3, usdc, weth, vault = chain
    a = w3.eth.accounts
    expect_revert(vault.functions.addAsset(weth.address), "NotOwner", {"from": a[1]})
    expect_revert(vault.functions.addAsset(usdc.address), "AssetAlreadyListed", {"from": a[0]})
    expect_revert(vault.functions.addAsset(ZERO), "ZeroAddress", {"from": a[0]})
    r = send(vault.functions.addAsset(weth.address), {"from": a[0]})
    assert events(vault, r, "AssetAdded")[0]["args"]["token"] == weth.address
    assert vault.functions.assets().call() == [usdc.address, weth.address]
    assert vault.functions.holdings(weth.address).call() == 0


def test_vault_total_held_storage_slot_and_proof(chain: Any) -> None:
    w3, usdc, _, vault = chain
    a = w3.eth.accounts
    send(vault.functions.deposit(usdc.address, 4242, a[5]), {"from": a[1]})
    slot = total_held_slot(usdc.address)
    raw = w3.eth.get_storage_at(vault.address, slot)
    assert int.from_bytes(raw, "big") == 4242
    proof = w3.eth.get_proof(vault.address, [slot], "latest")
    (sp,) = proof["storageProof"]
    assert int.from_bytes(bytes(sp["value"]), "big") == 4242 and bytes(sp["key"]).rjust(32, b"\0") == slot
    # the wrong slot (the per-account mapping at slot 1) does not hold the total
    wrong = keccak(abi_encode(["address", "uint256"], [usdc.address, 1]))
    assert int.from_bytes(w3.eth.get_storage_at(vault.address, wrong), "big") == 0


def test_deploy_with_a_local_key(chain: Any) -> None:
    from contract_helpers import dev_address, dev_key

    from relayer.contracts import deploy
    from relayer.errors import ConfigError

    w3 = chain[0]
    tok = deploy(w3, "TestERC20", "Local", "LOC", 2, private_key=dev_key(3))
    assert tok.functions.owner().call() == dev_address(3)
    with pytest.raises(ConfigError, match="not the address"):
        deploy(w3, "TestERC20", "Local", "LOC", 2, private_key=dev_key(3), sender=dev_address(4))


def test_vault_constructor_rejects_zero_owner(chain: Any) -> None:
    w3 = chain[0]
    from relayer.errors import ChainError

    with pytest.raises(ChainError):
        deploy_any(w3, "CollateralVault", ZERO)


# ------------------------------------------------------------------ price aggregator


def test_aggregator_rounds(chain: Any) -> None:
    w3 = chain[0]
    a = w3.eth.accounts
    agg = deploy_any(w3, "PriceAggregator", 8, "ETH / USD", 3000 * 10**8)
    assert agg.functions.decimals().call() == 8
    assert agg.functions.description().call() == "ETH / USD"
    assert agg.functions.version().call() == 1
    r1 = agg.functions.latestRoundData().call()
    assert r1[0] == 1 and r1[1] == 3000 * 10**8 and r1[4] == 1 and r1[2] == r1[3] > 0
    increase_time(w3, 100)
    rc = send(agg.functions.updateAnswer(-5), {"from": a[0]})
    ts = w3.eth.get_block(rc["blockNumber"])["timestamp"]
    assert events(agg, rc, "AnswerUpdated")[0]["args"]["roundId"] == 2
    assert agg.functions.latestRoundData().call() == [2, -5, ts, ts, 2]
    assert agg.functions.getRoundData(1).call() == r1  # old rounds are kept
    assert agg.functions.getRoundData(2).call() == [2, -5, ts, ts, 2]
    expect_revert(agg.functions.getRoundData(3), "NoDataPresent")
    expect_revert(agg.functions.getRoundData(0), "NoDataPresent")
    expect_revert(agg.functions.updateAnswer(1), "NotOwner", {"from": a[1]})


def test_vault_asset_list_is_capped(chain: Any) -> None:
    w3, usdc, _weth, vault = chain
    a = w3.eth.accounts
    cap = vault.functions.MAX_ASSETS().call()
    assert cap == 64
    # addAsset takes any non-zero address (listing is the owner's call): fill up to the cap
    for i in range(1, cap):
        send(vault.functions.addAsset(Web3.to_checksum_address((0x1000 + i).to_bytes(20, "big"))), {"from": a[0]})
    assert len(vault.functions.assets().call()) == cap
    data = expect_revert(vault.functions.addAsset(Web3.to_checksum_address((0x2000).to_bytes(20, "big"))),
                         "TooManyAssets", {"from": a[0]})
    assert int(data[8:], 16) == cap


# ------------------------------------------------------------------ re-entrancy guard

REENTRANCY = keccak(text="Reentrancy()")[:4]
ATTACK_DEPOSIT, ATTACK_WITHDRAW = 1, 2


def _hostile_token(chain: Any) -> Any:
    """A listed ReentrantToken: a[1] holds 10^6 and approved the vault; the token holds 10^6 of
    itself (what a re-entrant deposit would pull)."""
    w3, _, _, vault = chain
    a = w3.eth.accounts
    tok = deploy_any(w3, "ReentrantToken")
    send(vault.functions.addAsset(tok.address), {"from": a[0]})
    for holder in (a[1], tok.address):
        send(tok.functions.mint(holder, 10**6), {"from": a[0]})
    send(tok.functions.approve(vault.address, 2**256 - 1), {"from": a[1]})
    return tok


def test_vault_deposit_reentered_by_the_token_hits_the_guard(chain: Any) -> None:
    w3, _, _, vault = chain
    a = w3.eth.accounts
    tok = _hostile_token(chain)
    # during the outer deposit's transferFrom the token deposits 500 of its own: unguarded, the
    # outer deposit would count those 500 as its own receipt too (1000 + 500 credited twice)
    send(tok.functions.arm(vault.address, ATTACK_DEPOSIT, 500, False), {"from": a[0]})
    r = send(vault.functions.deposit(tok.address, 1000, a[5]), {"from": a[1]})
    assert tok.functions.attacked().call() is True
    assert tok.functions.reentryOk().call() is False
    assert tok.functions.reentryData().call() == REENTRANCY  # the guard's error, nothing else
    # only the outer deposit moved anything, and it was credited once
    (ev,) = events(vault, r, "Deposited")
    assert dict(ev["args"]) == {"token": tok.address, "from": a[1], "account": a[5], "amount": 1000}
    assert vault.functions.balanceOf(a[5], tok.address).call() == 1000
    assert vault.functions.balanceOf(tok.address, tok.address).call() == 0
    assert vault.functions.totalHeld(tok.address).call() == 1000 == tok.functions.balanceOf(vault.address).call()
    assert tok.functions.balanceOf(tok.address).call() == 10**6


def test_vault_withdraw_reentered_by_the_token_hits_the_guard(chain: Any) -> None:
    w3, _, _, vault = chain
    a = w3.eth.accounts
    tok = _hostile_token(chain)
    send(vault.functions.deposit(tok.address, 1000, a[1]), {"from": a[1]})
    send(vault.functions.deposit(tok.address, 300, tok.address), {"from": a[1]})  # the token's own vault balance
    # during the outer withdraw's transfer the token withdraws its own 300
    send(tok.functions.arm(vault.address, ATTACK_WITHDRAW, 300, False), {"from": a[0]})
    r = send(vault.functions.withdraw(tok.address, 400, a[6]), {"from": a[1]})
    assert tok.functions.reentryOk().call() is False
    assert tok.functions.reentryData().call() == REENTRANCY
    (ev,) = events(vault, r, "Withdrawn")
    assert dict(ev["args"]) == {"token": tok.address, "account": a[1], "to": a[6], "amount": 400}
    assert vault.functions.balanceOf(a[1], tok.address).call() == 600
    assert vault.functions.balanceOf(tok.address, tok.address).call() == 300  # the re-entrant withdraw moved nothing
    assert tok.functions.balanceOf(a[6]).call() == 400
    assert tok.functions.balanceOf(tok.address).call() == 10**6  # (its vault balance came from a[1])
    assert vault.functions.totalHeld(tok.address).call() == 900 == tok.functions.balanceOf(vault.address).call()


def test_vault_reentry_reverted_by_the_token_reverts_the_whole_deposit(chain: Any) -> None:
    """A token that passes the guard's revert up: the vault reports TransferFailed (it does not
    forward a token's revert data) and nothing moves."""
    w3, _, _, vault = chain
    a = w3.eth.accounts
    tok = _hostile_token(chain)
    send(tok.functions.arm(vault.address, ATTACK_DEPOSIT, 500, True), {"from": a[0]})
    fn = vault.functions.deposit(tok.address, 1000, a[5])
    expect_revert(fn, "TransferFailed", {"from": a[1]})
    # the revert inside the token is the guard's: the call trace shows the nested vault call
    trace = w3.provider.make_request("debug_traceCall", [
        {"from": a[1], "to": vault.address, "data": fn._encode_transaction_data(), "gas": hex(1_000_000)},
        "latest", {"tracer": "callTracer"}])["result"]
    (to_token,) = [c for c in trace["calls"] if c["to"].lower() == tok.address.lower() and "error" in c]
    (reentry,) = [c for c in to_token["calls"] if c["to"].lower() == vault.address.lower()]
    assert reentry["output"] == "0x" + REENTRANCY.hex()
    h = fn.transact({"from": a[1], "gas": 1_000_000})
    assert w3.eth.wait_for_transaction_receipt(h)["status"] == 0
    assert tok.functions.balanceOf(a[1]).call() == 10**6
    assert tok.functions.balanceOf(vault.address).call() == 0
    assert vault.functions.totalHeld(tok.address).call() == 0
    assert vault.functions.balanceOf(a[5], tok.address).call() == 0
