"""EIP-1559 fees from the chain, under the configured cap (never overpay).

maxPriorityFeePerGas = min(eth_maxPriorityFeePerGas, configured priority_fee)  (the config's tip
is a ceiling); maxFeePerGas = min(2 * baseFee(pending) + tip, cap). When baseFee + tip is already
above the cap the transaction could not be included without overpaying: FeeAboveCap, and the
submitter waits and retries with that reason. A replacement bumps BOTH fields by >= 12.5%
(geth/anvil pool rule: a same-nonce transaction must pay at least 10% more; 12.5% is the
common margin), and still never beyond the cap.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from relayer.config import GasPolicy
from relayer.errors import ChainError, RelayError

BUMP_NUM, BUMP_DEN = 9, 8  # x 1.125


class FeeAboveCap(RelayError):
    """The chain's current price is above the configured max fee: wait, do not overpay."""


@dataclass(frozen=True)
class Fees:
    max_fee_wei: int
    priority_fee_wei: int

    def __post_init__(self) -> None:
        if not (0 <= self.priority_fee_wei <= self.max_fee_wei):
            raise RelayError(f"invalid EIP-1559 fees: tip {self.priority_fee_wei} > max fee {self.max_fee_wei}")


def _ceil_bump(v: int) -> int:
    return -(-v * BUMP_NUM // BUMP_DEN)


def pending_base_fee(w3: Any) -> int:
    """The base fee the next block will charge (the pending block's baseFeePerGas)."""
    try:
        blk = w3.eth.get_block("pending")
        base = blk.get("baseFeePerGas")
    except Exception as exc:  # noqa: BLE001 - web3 raises many types; this is a chain problem
        raise ChainError(f"cannot read the pending block's base fee: {exc}") from exc
    if base is None:
        raise ChainError("the chain reports no baseFeePerGas: it does not support EIP-1559 transactions")
    return int(base)


def suggested_tip(w3: Any) -> int:
    try:
        return int(w3.eth.max_priority_fee)
    except Exception as exc:  # noqa: BLE001
        raise ChainError(f"eth_maxPriorityFeePerGas failed: {exc}") from exc


def compute_fees(base_fee: int, chain_tip: int, policy: GasPolicy) -> Fees:
    """Fees for a new transaction (pure: the rule above). Raises FeeAboveCap."""
    cap = policy.max_fee_wei
    tip = min(chain_tip, policy.priority_fee_wei)
    if base_fee + tip > cap:
        raise FeeAboveCap(f"base fee {base_fee} wei + tip {tip} wei is above the cap {cap} wei "
                          f"(max_fee_gwei={policy.max_fee_gwei}); waiting for the price to fall")
    return Fees(max_fee_wei=min(2 * base_fee + tip, cap), priority_fee_wei=tip)


def bump_fees(prev: Fees, base_fee: int, chain_tip: int, policy: GasPolicy) -> Fees:
    """Fees for a same-nonce replacement: both fields >= 12.5% above `prev` (rounded up), and at
    least what a new transaction would pay now. Raises FeeAboveCap when that is above the cap."""
    cap = policy.max_fee_wei
    tip = max(_ceil_bump(prev.priority_fee_wei), min(chain_tip, policy.priority_fee_wei))
    max_fee = max(_ceil_bump(prev.max_fee_wei), 2 * base_fee + tip)
    if max_fee > cap:
        # enough to replace, and to be included now, but the cap still wins when it is met
        floor = max(_ceil_bump(prev.max_fee_wei), base_fee + tip)
        if floor > cap:
            raise FeeAboveCap(f"a replacement must pay >= {floor} wei per gas (12.5% over {prev.max_fee_wei}, or base fee "
                              f"{base_fee} + tip {tip}), above the cap {cap} wei; waiting")
        max_fee = cap
    if tip > max_fee:
        raise FeeAboveCap(f"a replacement tip of {tip} wei exceeds the max fee {max_fee} wei allowed by the cap {cap}")
    return Fees(max_fee_wei=max_fee, priority_fee_wei=tip)


def current_fees(w3: Any, policy: GasPolicy) -> Fees:
    return compute_fees(pending_base_fee(w3), suggested_tip(w3), policy)
