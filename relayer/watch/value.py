"""A_i (SPEC §2): the value of the collateral a chain's vault holds, at the oracle prices, after
each asset's haircut, in MicroUsd (USD with 6 decimals).

Rounding rule (exact integers, no floats): each asset's value is

    floor(amount * answer * (10_000 - haircut_bps) * 10**6 / (10**token_decimals * 10**price_decimals * 10_000))

computed with one integer division per asset, i.e. rounded DOWN once; A_i is the sum of those
per-asset values. Rounding down can only understate collateral, never overstate solvency.
"""

from __future__ import annotations

from relayer.errors import ChainError
from relayer.types import MICRO_USD_PER_USD, AssetHolding, AssetValue, ChainSnapshot, MicroUsd

BPS = 10_000


def asset_value(h: AssetHolding) -> AssetValue:
    """One asset's contribution to A_i (rounded down, see the module docstring)."""
    if h.amount < 0:
        raise ChainError(f"{h.symbol}: negative holding {h.amount}")
    if h.price.answer <= 0:
        raise ChainError(f"{h.symbol}: price feed {h.price.feed} answered {h.price.answer} (round {h.price.round_id}); "
                         "a non-positive price cannot value collateral; fix or replace the feed")
    if not 0 <= h.haircut_bps <= BPS:
        raise ChainError(f"{h.symbol}: haircut {h.haircut_bps} bps is outside 0..{BPS}")
    if not 0 <= h.token_decimals <= 77 or not 0 <= h.price.decimals <= 77:
        raise ChainError(f"{h.symbol}: decimals out of range (token {h.token_decimals}, price {h.price.decimals})")
    numerator = h.amount * h.price.answer * (BPS - h.haircut_bps) * MICRO_USD_PER_USD
    denominator = 10**h.token_decimals * 10**h.price.decimals * BPS
    return AssetValue(symbol=h.symbol, amount=h.amount, token_decimals=h.token_decimals, price_answer=h.price.answer,
                      price_decimals=h.price.decimals, haircut_bps=h.haircut_bps,
                      value=MicroUsd(numerator // denominator))


def chain_assets(snapshot: ChainSnapshot) -> tuple[MicroUsd, tuple[AssetValue, ...]]:
    """(A_i, the per-asset values it sums) for one chain's snapshot."""
    values = tuple(asset_value(h) for h in snapshot.holdings)
    return MicroUsd(sum(v.value for v in values)), values


__all__ = ["BPS", "asset_value", "chain_assets"]
