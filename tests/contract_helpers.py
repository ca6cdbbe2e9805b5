"""Helpers for contract tests on Anvil: web3 connection, dev keys, test-only artifacts, snapshots,
and assertions that a call reverts with a named custom error."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_utils import keccak
from web3 import Web3
from web3.exceptions import ContractCustomError, ContractLogicError, Web3RPCError

from relayer.contracts import deploy, load_artifact
from relayer.devnet.anvil import DEV_MNEMONIC, AnvilProcess

TEST_ARTIFACTS = Path(__file__).resolve().parent / "artifacts"

Account.enable_unaudited_hdwallet_features()


@lru_cache(maxsize=None)
def dev_key(i: int) -> bytes:
    """Private key of anvil dev account i (BIP-44 path m/44'/60'/0'/0/i of the dev mnemonic)."""
    return bytes(Account.from_mnemonic(DEV_MNEMONIC, account_path=f"m/44'/60'/0'/0/{i}").key)


def dev_address(i: int) -> str:
    return Account.from_key(dev_key(i)).address


def connect(proc: AnvilProcess) -> Web3:
    w3 = Web3(Web3.HTTPProvider(proc.rpc_url, request_kwargs={"timeout": 30}))
    w3.eth.default_account = w3.eth.accounts[0]
    return w3


def double_artifact(name: str) -> tuple[list[dict[str, Any]], str]:
    data = json.loads((TEST_ARTIFACTS / f"{name}.json").read_text())
    return data["abi"], data["bytecode"]


def deploy_any(w3: Web3, name: str, *args: Any, sender: str | None = None) -> Any:
    """Deploy a package contract, or a test double from tests/artifacts."""
    if (TEST_ARTIFACTS / f"{name}.json").exists():
        abi, bytecode = double_artifact(name)
        sender = sender or w3.eth.accounts[0]
        tx = w3.eth.contract(abi=abi, bytecode=bytecode).constructor(*args).transact({"from": sender})
        receipt = w3.eth.wait_for_transaction_receipt(tx)
        assert receipt["status"] == 1, f"deploying {name} failed"
        return w3.eth.contract(address=receipt["contractAddress"], abi=abi)
    return deploy(w3, name, *args, sender=sender)


def error_selectors(abi: list[dict[str, Any]]) -> dict[str, str]:
    """4-byte selector (hex, no 0x) -> custom error name, from an ABI."""
    out = {}
    for item in abi:
        if item.get("type") == "error":
            sig = f"{item['name']}({','.join(_abi_type(i) for i in item['inputs'])})"
            out[keccak(text=sig)[:4].hex()] = item["name"]
    return out


def _abi_type(inp: dict[str, Any]) -> str:
    if inp["type"].startswith("tuple"):
        return "(" + ",".join(_abi_type(c) for c in inp["components"]) + ")" + inp["type"][5:]
    return inp["type"]


def revert_data(exc: Exception) -> str:
    """Hex revert data (no 0x) carried by a web3 exception."""
    data = getattr(exc, "data", None)
    if isinstance(data, dict):
        data = data.get("data")
    if not isinstance(data, str):
        data = str(exc.args[0]) if exc.args else ""
    return data.removeprefix("0x")


def expect_revert(fn: Any, error: str, tx: dict[str, Any] | None = None, abi: list | None = None) -> str:
    """Assert that the contract function call `fn` reverts with custom error `error` (checked with
    eth_call, the node executing the transaction as it would be mined). Returns the revert data."""
    abi = abi if abi is not None else fn.contract_abi
    try:
        fn.call(tx or {})
    except (ContractCustomError, ContractLogicError, Web3RPCError) as exc:
        data = revert_data(exc)
        got = error_selectors(abi).get(data[:8], f"<unknown 0x{data[:8]}>")
        assert got == error, f"expected revert {error}, got {got} ({exc})"
        return data
    raise AssertionError(f"expected revert {error}, but the call succeeded")


def send(fn: Any, tx: dict[str, Any]) -> Any:
    """Transact and wait; asserts success, returns the receipt."""
    w3 = fn.w3
    h = fn.transact(tx)
    receipt = w3.eth.wait_for_transaction_receipt(h)
    assert receipt["status"] == 1, f"transaction {h.hex()} reverted"
    return receipt


@contextmanager
def snapshot(w3: Web3) -> Iterator[None]:
    """Run a block and then put the chain back exactly as it was (evm_snapshot / evm_revert)."""
    snap = w3.provider.make_request("evm_snapshot", [])["result"]
    try:
        yield
    finally:
        assert w3.provider.make_request("evm_revert", [snap])["result"] is True


def increase_time(w3: Web3, seconds: int) -> None:
    w3.provider.make_request("evm_increaseTime", [seconds])
    w3.provider.make_request("evm_mine", [])


def mine(w3: Web3, blocks: int = 1) -> None:
    w3.provider.make_request("anvil_mine", [hex(blocks)])


def events(contract: Any, receipt: Any, name: str) -> list[Any]:
    """Decoded events `name` emitted by `contract` in `receipt`."""
    ev = getattr(contract.events, name)()
    return [e for e in ev.process_receipt(receipt, errors=_DISCARD) if e["address"] == contract.address]


def _discard() -> Any:
    from web3.logs import DISCARD

    return DISCARD


_DISCARD = _discard()

Call = Callable[..., Any]
