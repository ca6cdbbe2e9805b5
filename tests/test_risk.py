"""Risk model: Black-Scholes, marks and risk arrays rounded once, SPAN grid, commitment, evaluator, generator."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest

from relayer.risk.blackscholes import SECONDS_PER_YEAR, bs_price
from relayer.risk.commitment import PACK_BITS, TAG, market_commitment, market_values, pack_words
from relayer.risk.evaluator import evaluate, evaluate_account
from relayer.risk.ledger import Account, Book, Instrument
from relayer.risk.market import (
    SPAN_GRID,
    MarketInputs,
    RiskModelError,
    UnderlyingQuote,
    compact_grid,
    compute_market_data,
)
from relayer.risk.synthetic import ARCHETYPES, default_instruments, default_market_inputs, generate_book
from relayer.risk.units import RISK_OFFSET, USD
from relayer.zk.poseidon import poseidon

T0 = 1_767_225_600
INS = default_instruments()
PERP, CALL, CALL_HI, PUT = (i.id for i in INS)


def test_black_scholes_reference_values() -> None:
    # S = K = 100, T = 1, sigma = 20%, r = 0: d1 = 0.1, d2 = -0.1, C = 100 (N(0.1) - N(-0.1)) = 7.965567...
    c = bs_price("call", 100.0, 100.0, 1.0, 0.2)
    assert c == pytest.approx(7.965567455405804, abs=1e-12)
    for s, k, t, v in ((100.0, 90.0, 0.25, 0.5), (3000.0, 3300.0, 30 / 365, 0.6), (1.0, 2.0, 2.0, 1.2)):
        call, put = bs_price("call", s, k, t, v), bs_price("put", s, k, t, v)
        assert call - put == pytest.approx(s - k, abs=1e-9)  # put-call parity at zero rate
        assert max(s - k, 0) <= call <= s
    assert bs_price("call", 120.0, 100.0, 0.0, 0.3) == 20.0  # expired: intrinsic
    assert bs_price("put", 120.0, 100.0, -1.0, 0.3) == 0.0
    with pytest.raises(ValueError):
        bs_price("call", -1.0, 100.0, 1.0, 0.2)
    with pytest.raises(ValueError):
        bs_price("straddle", 1.0, 1.0, 1.0, 0.2)


def test_marks_rounded_once_and_deterministic() -> None:
    md = compute_market_data(INS, default_market_inputs())
    assert md == compute_market_data(INS, default_market_inputs())
    assert all(isinstance(m, int) for m in md.marks)
    assert all(isinstance(r, int) for row in md.risk for r in row)
    # perp: spot per lot, exact (3000 USD per ETH, lot 0.01 ETH)
    assert md.marks[0] == 30 * USD
    # call: round(BS value in micro-USD per lot), half to even
    call = INS[1]
    years = (call.expiry - T0) / SECONDS_PER_YEAR
    assert md.marks[1] == round(bs_price("call", 3000.0, 3000.0, years, 0.6) * USD / 100)
    # perp risk: linear in the shock, with cover on the extremes
    i_up, i_ext = SPAN_GRID.index(next(s for s in SPAN_GRID if s.price_move == 1 and s.vol_move == 1)), 14
    assert md.risk[0][i_up] == round(3000 * 0.15 * USD / 100)
    assert md.risk[0][i_ext] == round(3000 * 0.45 * USD / 100 * 0.35)
    # call value rises with spot and with vol
    assert md.risk[1][i_up] > 0 and md.risk[1][i_up] > md.risk[1][i_up + 1]


def test_span_grid_shape() -> None:
    assert len(SPAN_GRID) == 16
    moves = sorted({s.price_move for s in SPAN_GRID})
    assert moves == [Fraction(-3), -1, Fraction(-2, 3), Fraction(-1, 3), 0, Fraction(1, 3), Fraction(2, 3), 1, 3]
    assert [s.cover for s in SPAN_GRID if abs(s.price_move) == 3] == [Fraction(35, 100)] * 2
    assert {s.vol_move for s in SPAN_GRID[:14]} == {-1, 1}
    assert len(compact_grid(4)) == 4 and len(set(compact_grid(16))) == 16
    with pytest.raises(RiskModelError):
        compact_grid(0)


def test_market_input_errors() -> None:
    with pytest.raises(RiskModelError, match="no quote for underlying"):
        compute_market_data(INS, MarketInputs(T0, {"BTC": UnderlyingQuote(10**11, 5000)}))
    with pytest.raises(RiskModelError, match="spot"):
        compute_market_data(INS, MarketInputs(T0, {"ETH": UnderlyingQuote(0, 5000)}))
    with pytest.raises(RiskModelError, match="scan_bps"):
        compute_market_data(INS, MarketInputs(T0, {"ETH": UnderlyingQuote(10**9, 5000, scan_bps=10_000)}))
    with pytest.raises(RiskModelError, match="to or below zero"):
        compute_market_data(INS, MarketInputs(T0, {"ETH": UnderlyingQuote(10**9, 5000, scan_bps=4000)}))
    huge = (Instrument("BTC-PERP", "perp", "BTC", 0, 0, 0),)
    with pytest.raises(RiskModelError, match="mark of BTC-PERP"):
        compute_market_data(huge, MarketInputs(T0, {"BTC": UnderlyingQuote(2**41 * 10, 5000)}))


def test_commitment_is_recomputable() -> None:
    md = compute_market_data(INS, default_market_inputs(), compact_grid(4))
    vals = market_values(md.marks, md.risk)
    assert vals[:4] == list(md.marks) and vals[4] == md.risk[0][0] + RISK_OFFSET
    words = pack_words(vals)
    assert len(words) == math.ceil(len(vals) / 6) and all(w < 1 << (6 * PACK_BITS) for w in words)
    assert words[0] & ((1 << PACK_BITS) - 1) == md.marks[0]
    assert md.commitment() == poseidon([poseidon([TAG, 4, 4]), *words])
    other = compute_market_data(INS, default_market_inputs(spot=3001 * USD), compact_grid(4))
    assert other.commitment() != md.commitment()
    # padding changes the shape, hence the commitment
    assert md.padded(5, 4).commitment() != md.commitment()
    with pytest.raises(ValueError):
        market_commitment([1 << 40], [[0]])
    with pytest.raises(ValueError):
        market_commitment([1], [[-(1 << 40) - 1]])


def test_evaluator_rules() -> None:
    md = compute_market_data(INS, default_market_inputs())
    book = Book(1, INS, (
        Account(1, 0, 100 * USD),  # cash only
        Account(2, 0, -100 * USD),  # bad debt
        Account(3, 0, 0, {CALL: -10}),  # short call: negative equity, a requirement
    ))
    res = evaluate(book, md)
    a, b, c = res.accounts
    assert (a.equity, a.owed, a.bad_debt, a.requirement, a.under_margined) == (100 * USD, 100 * USD, 0, 0, False)
    assert (b.owed, b.bad_debt, b.under_margined) == (0, 100 * USD, True)  # E < MM = 0
    assert c.equity == -10 * md.marks[1] and c.bad_debt == 10 * md.marks[1]
    assert c.requirement == max(10 * r for r in md.risk[1])  # loss_s = -q R_s with q = -10
    assert res.liabilities == 100 * USD and res.bad_debt == 100 * USD + 10 * md.marks[1]
    assert res.under_margined == 2
    assert evaluate_account([0, 0, 0, 0], 5, md) == (5, 0, (0,) * 16)


@pytest.mark.parametrize("legs", [({CALL: 20}, {CALL_HI: -20}), ({PERP: 20}, {PUT: 20}), ({PERP: 5}, {PERP: -5})])
def test_hedges_offset_inside_the_scenario_sum(legs: tuple[dict[str, int], dict[str, int]]) -> None:
    md = compute_market_data(INS, default_market_inputs())
    a, b = legs
    hedged = {k: a.get(k, 0) + b.get(k, 0) for k in {*a, *b}}
    mm = [evaluate_account([p.get(i.id, 0) for i in INS], 0, md)[1] for p in (a, b, hedged)]
    assert mm[2] < mm[0] + mm[1]
    assert mm[2] < max(mm[0], mm[1])


def test_synthetic_books_reproducible_and_varied() -> None:
    b1 = generate_book(7, 200, seed=42)
    assert b1 == generate_book(7, 200, seed=42)
    assert b1 != generate_book(7, 200, seed=43)
    ids = [a.id for a in b1.accounts]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    res = evaluate(b1, compute_market_data(b1.instruments, default_market_inputs()))
    assert res.under_margined > 0 and res.bad_debt > 0 and res.liabilities > 0
    eq = [a.equity for a in res.accounts]
    assert any(e < 0 for e in eq) and any(e > 0 for e in eq)
    assert any(0 < a.equity < a.requirement for a in res.accounts)  # under-margined but solvent
    qs = [q for a in b1.accounts for q in a.positions.values()]
    assert any(q > 0 for q in qs) and any(q < 0 for q in qs)
    assert len(ARCHETYPES) >= 8
    only_hedged = generate_book(7, 30, seed=1, archetypes=["call_spread", "perp_put"])
    r2 = evaluate(only_hedged, compute_market_data(only_hedged.instruments, default_market_inputs()))
    assert r2.under_margined == 0 and r2.bad_debt == 0
