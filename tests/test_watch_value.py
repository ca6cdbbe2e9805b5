"""A_i valuation: exact integers, rounded down once per asset, bad prices refused."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from relayer.errors import ChainError
from relayer.types import AssetHolding, ChainSnapshot, PriceReading
from relayer.watch.value import asset_value, chain_assets


def holding(amount: int, answer: int, token_dec: int = 18, price_dec: int = 8, haircut: int = 0,
            symbol: str = "WETH") -> AssetHolding:
    price = PriceReading(feed="0x" + "11" * 20, answer=answer, decimals=price_dec, round_id=1, started_at=1,
                         updated_at=1, answered_in_round=1)
    return AssetHolding(symbol=symbol, token="0x" + "22" * 20, token_decimals=token_dec, haircut_bps=haircut,
                        amount=amount, price=price)


def test_examples() -> None:
    # 1.5 WETH at $3000.12345678 with a 10% haircut: 1.5 * 3000.12345678 * 0.9 = 4050.166666653 USD
    v = asset_value(holding(15 * 10**17, 300_012_345_678, haircut=1_000))
    assert v.value == 4_050_166_666  # micro-USD, the ...653 nano-USD part dropped
    # a dust amount below one micro-USD is worth 0, not rounded up
    assert asset_value(holding(1, 300_000_000_000)).value == 0
    # a full haircut counts nothing
    assert asset_value(holding(10**18, 300_000_000_000, haircut=10_000)).value == 0
    # USDC (6 decimals) at $0.9999: 2,500,000.000170 USDC -> 2,499,750.000169983 USD
    assert asset_value(holding(2_500_000_000_170, 99_990_000, token_dec=6)).value == 2_499_750_000_169


@given(amount=st.integers(0, 2**128), answer=st.integers(1, 2**100), token_dec=st.integers(0, 30),
       price_dec=st.integers(0, 18), haircut=st.integers(0, 10_000))
def test_rounds_down_exactly_once(amount: int, answer: int, token_dec: int, price_dec: int, haircut: int) -> None:
    v = asset_value(holding(amount, answer, token_dec, price_dec, haircut)).value
    exact = Fraction(amount, 10**token_dec) * Fraction(answer, 10**price_dec) * Fraction(10_000 - haircut, 10_000) * 10**6
    assert v <= exact < v + 1


def test_chain_total_is_sum_of_floored_assets() -> None:
    snap = ChainSnapshot(chain_id=1, chain_name="x", block_number=5, block_hash=b"\x01" * 32,  # type: ignore[arg-type]
                         state_root=b"\x02" * 32, timestamp=10, vault="0x" + "33" * 20,
                         holdings=(holding(1, 150_000_000, token_dec=6, symbol="A"),
                                   holding(1, 150_000_000, token_dec=6, symbol="B")))
    total, parts = chain_assets(snap)
    assert [p.value for p in parts] == [1, 1] and total == 2  # 1.5 + 1.5 micro-USD: floored each, never 3


@pytest.mark.parametrize(("kwargs", "msg"), [
    ({"answer": 0}, "non-positive price"),
    ({"answer": -5}, "non-positive price"),
    ({"amount": -1}, "negative holding"),
    ({"haircut": 10_001}, "haircut 10001 bps"),
    ({"haircut": -1}, "haircut -1 bps"),
    ({"token_dec": 78}, "decimals out of range"),
])
def test_bad_inputs_rejected(kwargs: dict[str, int], msg: str) -> None:
    args = {"amount": 10**18, "answer": 300_000_000_000} | kwargs
    with pytest.raises(ChainError, match=msg):
        asset_value(holding(**args))


def test_snapshot_checks() -> None:
    with pytest.raises(ChainError, match="32 bytes"):
        ChainSnapshot(chain_id=1, chain_name="x", block_number=5, block_hash=b"\x01" * 31,  # type: ignore[arg-type]
                      state_root=b"\x02" * 32, timestamp=10, vault="0x" + "33" * 20, holdings=())
    snap = ChainSnapshot(chain_id=1, chain_name="x", block_number=5, block_hash=b"\x01" * 32,  # type: ignore[arg-type]
                         state_root=b"\x02" * 32, timestamp=10, vault="0x" + "33" * 20, holdings=(holding(1, 1),))
    assert snap.holding("WETH").amount == 1
    with pytest.raises(ChainError, match="has no asset 'USDC'; it has WETH"):
        snap.holding("USDC")
