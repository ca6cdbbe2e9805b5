"""Compiled contract artifacts (ABI + bytecode written by scripts/build-contracts) and a deploy helper.

No Solidity compiler is needed at run time: artifacts are committed JSON files in `artifacts/`.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any

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


def deploy(w3: Any, name: str, *args: Any, sender: str | None = None, gas: int | None = None) -> Any:
    """Deploy contract `name` with constructor `args` from `sender` (an unlocked account, default
    w3.eth.default_account or the node's first account); returns the web3 contract at its address.

    Raises ChainError when the deployment transaction fails.
    """
    abi, bytecode = load_artifact(name)
    if bytecode in ("0x", ""):
        raise ConfigError(f"{name} is an interface or abstract contract and cannot be deployed")
    sender = sender or w3.eth.default_account or w3.eth.accounts[0]
    factory = w3.eth.contract(abi=abi, bytecode=bytecode)
    tx: dict[str, Any] = {"from": sender}
    if gas is not None:
        tx["gas"] = gas
    try:
        tx_hash = factory.constructor(*args).transact(tx)
        receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=60)
    except Exception as exc:  # web3 raises many unrelated types; callers see one
        raise ChainError(f"deploying {name} from {sender} failed: {exc}") from exc
    if receipt["status"] != 1 or receipt.get("contractAddress") is None:
        raise ChainError(f"deploying {name} from {sender} reverted (tx {tx_hash.hex()})")
    return w3.eth.contract(address=receipt["contractAddress"], abi=abi)
