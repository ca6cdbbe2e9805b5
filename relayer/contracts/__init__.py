"""Compiled contract artifacts (ABI + bytecode written by scripts/build-contracts) and a deploy helper.

No Solidity compiler is needed at run time: artifacts are committed JSON files in `artifacts/`.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any

from eth_abi import decode as abi_decode
from eth_abi.exceptions import DecodingError
from eth_utils import keccak

from relayer.errors import ChainError, ConfigError

_PACKAGE = "relayer.contracts"


def artifact_names() -> list[str]:
    """Names of the contracts whose artifacts ship with the package."""
    folder = resources.files(_PACKAGE).joinpath("artifacts")
    return sorted(p.name[: -len(".json")] for p in folder.iterdir() if p.name.endswith(".json"))


@lru_cache(maxsize=None)
def load_full_artifact(name: str) -> dict[str, Any]:
    """The whole artifact dict (contractName, abi, bytecode, deployedBytecode, sourceHash, compiler)."""
    path = resources.files(_PACKAGE).joinpath("artifacts", f"{name}.json")
    if not path.is_file():
        raise ConfigError(
            f"no contract artifact named {name!r}; known: {', '.join(artifact_names())}; "
            "run ./scripts/build-contracts after adding a contract to contracts/src"
        )
    return json.loads(path.read_text())


def load_artifact(name: str) -> tuple[list[dict[str, Any]], str]:
    """(abi, creation bytecode as 0x-hex) of contract `name`."""
    art = load_full_artifact(name)
    return art["abi"], art["bytecode"]


def deploy(
    w3: Any,
    name: str,
    *args: Any,
    sender: str | None = None,
    gas: int | None = None,
    private_key: bytes | str | None = None,
) -> Any:
    """Deploy contract `name` with constructor `args`; returns the web3 contract at its address.

    With `private_key` the transaction is signed locally (any node); otherwise it is sent from
    `sender`, an account the node has unlocked (default: w3.eth.default_account or the node's
    first account, as on anvil). Raises ChainError when the deployment fails.
    """
    abi, bytecode = load_artifact(name)
    if bytecode in ("0x", ""):
        raise ConfigError(f"{name} is an interface or abstract contract and cannot be deployed")
    factory = w3.eth.contract(abi=abi, bytecode=bytecode)
    try:
        if private_key is not None:
            account = w3.eth.account.from_key(private_key)
            if sender is not None and sender.lower() != account.address.lower():
                raise ConfigError(f"sender {sender} is not the address of the given private key ({account.address})")
            sender = account.address
            tx: dict[str, Any] = {"from": sender, "nonce": w3.eth.get_transaction_count(sender, "pending")}
            if gas is not None:
                tx["gas"] = gas
            built = factory.constructor(*args).build_transaction(tx)
            tx_hash = w3.eth.send_raw_transaction(account.sign_transaction(built).raw_transaction)
        else:
            sender = sender or w3.eth.default_account or w3.eth.accounts[0]
            tx = {"from": sender}
            if gas is not None:
                tx["gas"] = gas
            tx_hash = factory.constructor(*args).transact(tx)
        receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=60)
    except ConfigError:
        raise
    except Exception as exc:  # web3 raises many unrelated types; callers see one
        raise ChainError(f"deploying {name} from {sender} failed: {exc}") from exc
    if receipt["status"] != 1 or receipt.get("contractAddress") is None:
        raise ChainError(f"deploying {name} from {sender} reverted (tx {tx_hash.hex()})")
    return w3.eth.contract(address=receipt["contractAddress"], abi=abi)


def _abi_type(inp: dict[str, Any]) -> str:
    if inp["type"].startswith("tuple"):
        return "(" + ",".join(_abi_type(c) for c in inp["components"]) + ")" + inp["type"][len("tuple"):]
    return str(inp["type"])


def decode_error(name: str, data: bytes | str) -> str | None:
    """Readable form, e.g. `NotEnoughSignatures(got=1, threshold=2)`, of revert data produced by
    contract `name`'s custom errors; None when the selector is not one of them."""
    raw = bytes.fromhex(data.removeprefix("0x")) if isinstance(data, str) else bytes(data)
    if len(raw) < 4:
        return None
    for item in load_artifact(name)[0]:
        if item.get("type") != "error":
            continue
        types = [_abi_type(i) for i in item["inputs"]]
        if keccak(text=f"{item['name']}({','.join(types)})")[:4] != raw[:4]:
            continue
        try:
            values = abi_decode(types, raw[4:])
        except DecodingError:
            return f"{item['name']}(<undecodable arguments 0x{raw[4:].hex()}>)"
        args = ", ".join(
            f"{i['name'] or f'arg{k}'}={'0x' + v.hex() if isinstance(v, bytes) else v}"
            for k, (i, v) in enumerate(zip(item["inputs"], values))
        )
        return f"{item['name']}({args})"
    return None
