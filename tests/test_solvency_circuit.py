"""Per-chain solvency circuit: equals the evaluator, proofs verify, and every cheating witness of
issue 4 is rejected at the constraint that is meant to catch it."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from relayer.circuits.merkle_sum import leaf_hash
from relayer.circuits.solvency import (
    PACK_BOUND,
    PUBLIC_INPUTS,
    Capacity,
    ChainContext,
    SolvencyCircuit,
    expected_public,
    public_signals_of,
)
from relayer.errors import ProverError, UnsatisfiedConstraint
from relayer.risk.evaluator import evaluate
from relayer.risk.ledger import Account, Book
from relayer.risk.market import MarketData, RiskModelError, compact_grid, compute_market_data
from relayer.risk.synthetic import default_instruments, default_market_inputs, generate_book
from relayer.risk.units import CASH_OFFSET, QTY_OFFSET, USD, VALUE_BITS
from relayer.zk.field import R
from relayer.zk.gadgets import pack_layout

CAP = Capacity(accounts=4, instruments=4, scenarios=4)
INSTRUMENTS = default_instruments()
PERP, CALL, CALL_HI, PUT = (i.id for i in INSTRUMENTS)
CTX = ChainContext(chain_id=31337, block_number=1234, block_hash=bytes(range(32)), assets=5 * 10**12, round=9)


@pytest.fixture(scope="module")
def sc() -> SolvencyCircuit:
    return SolvencyCircuit(CAP)


@pytest.fixture(scope="module")
def market() -> MarketData:
    return compute_market_data(INSTRUMENTS, default_market_inputs(), compact_grid(CAP.scenarios))


PACK_SPACING, PACK_PER = pack_layout(PACK_BOUND)
PACKED = [f"mm_ge_loss[{s}]" for s in range(CAP.scenarios)] + ["equity", "under"]  # solvency.py's pack order


def pack_slot(value: str) -> tuple[int, int]:
    """(pack index, position in the pack) of a packed per-account check at the test capacity."""
    i = PACKED.index(value)
    return i // PACK_PER, i % PACK_PER


def pack_rx(a: int, value: str) -> str:
    """Regex of the recomposition constraint that checks `value` of account slot `a`."""
    return rf"acct\[{a}\]\.pack\[{pack_slot(value)[0]}\]:\S*{re.escape(value)}(\+|$| )"


def book_of(*accounts: Account) -> Book:
    return Book(CTX.chain_id, INSTRUMENTS, tuple(accounts))


# three real accounts + one padding slot: one healthy hedged, one under-margined naked short, one in debt
BOOK = book_of(
    Account(11, 1111, 2_000 * USD, {CALL: 10, CALL_HI: -10}),
    Account(20, 2222, -50 * USD, {CALL: -30, PERP: 5}),
    Account(35, 3333, -20_000 * USD, {PERP: 40}),
)


def honest(sc: SolvencyCircuit, market: MarketData, book: Book = BOOK) -> tuple[dict[str, Any], list[int]]:
    inputs = sc.inputs(CTX, book, market)
    w = sc.witness(inputs)
    sc.circuit.check(w)
    return inputs, w


def rejected(sc: SolvencyCircuit, inputs: Mapping[str, Any], overrides: Mapping[str, int] | None = None,
             match: str = "", consistent: bool = True) -> None:
    """Play a cheating prover: apply `overrides`, and (when `consistent`) publish the root, totals and
    commitment its own witness implies, so that only the cheated rule can catch it."""
    w = sc.witness(inputs, overrides=overrides)
    if consistent:
        inputs = {**inputs, **sc.implied_public(w)}
        w = sc.witness(inputs, overrides=overrides)
    with pytest.raises(UnsatisfiedConstraint, match=match):
        sc.circuit.check(w)


def test_honest_book_equals_evaluator(sc: SolvencyCircuit, market: MarketData) -> None:
    inputs, w = honest(sc, market)
    pub = public_signals_of(w)
    assert pub == expected_public(CTX, BOOK, market, CAP)
    assert len(pub) == 12 == len(PUBLIC_INPUTS)
    res = evaluate(BOOK, market.padded(CAP.instruments, CAP.scenarios))
    assert [a.under_margined for a in res.accounts] == [False, True, True]
    assert res.bad_debt > 0 and pub[PUBLIC_INPUTS.index("badDebt")] == res.bad_debt
    assert pub[PUBLIC_INPUTS.index("underMargined")] == 2
    # block hash split into two 128-bit halves, in the feed's order
    bh = int.from_bytes(CTX.block_hash, "big")
    assert pub[2:4] == [bh >> 128, bh & ((1 << 128) - 1)]


def test_layout(sc: SolvencyCircuit) -> None:
    r1 = sc.circuit.compile()
    assert r1.n_pub_out == 0 and r1.n_pub_in == 12
    assert [r1.wire_names[i] for i in range(1, 13)] == list(PUBLIC_INPUTS)
    assert sc.circuit.unconstrained_signals() == []


def test_empty_and_full_books(sc: SolvencyCircuit, market: MarketData) -> None:
    _, w = honest(sc, market, book_of())
    assert public_signals_of(w)[6:10] == [0, 0, 0, 0]
    full = generate_book(CTX.chain_id, CAP.accounts, seed=5)
    _, w = honest(sc, market, full)
    assert public_signals_of(w) == expected_public(CTX, full, market, CAP)


def test_book_over_capacity_refused(sc: SolvencyCircuit, market: MarketData) -> None:
    with pytest.raises(ProverError, match="capacity"):
        sc.inputs(CTX, generate_book(CTX.chain_id, CAP.accounts + 1, seed=1), market)


# --- cheating witnesses (issue 4 "must show") -------------------------------------------------------------

def test_negative_balance_through_field_wraparound(sc: SolvencyCircuit, market: MarketData) -> None:
    inputs, w = honest(sc, market)
    e = evaluate(BOOK, market.padded(4, 4)).accounts[2].equity
    assert e < 0
    # count the debt as a "liability of -|E|" (r - |E|) instead of bad debt
    cheat = {"acct[2].neg": 0, "acct[2].mag": R + e}
    rejected(sc, inputs, cheat, match=r"acct\[2\]\.mag_range", consistent=False)
    # publishing the total such a witness implies (L_i - |E|, wrapped) is caught as well
    rejected(sc, inputs, cheat, match=r"pub\.liabilities_range|acct\[2\]\.mag_range")
    # cash supplied as a field negative instead of the offset encoding
    cash = list(inputs["cash_off"])
    cash[1] = R - 5 * USD
    rejected(sc, {**inputs, "cash_off": cash}, match=r"acct\[1\]\.cash_range")
    qty = list(inputs["qty_off[0]"])
    qty[0] = R - 1
    rejected(sc, {**inputs, "qty_off[0]": qty}, match=r"acct\[0\]\.qty\[0\]_range")


def test_sum_that_overflows(sc: SolvencyCircuit, market: MarketData) -> None:
    inputs, _ = honest(sc, market)
    # equity past 2^64: cash at the top of its range plus a long perp
    big = book_of(Account(1, 1, (1 << 64) - 1, {PERP: 1000}))
    with pytest.raises(RiskModelError, match="equity"):
        evaluate(big, market)
    cash = [(1 << 64) - 1 + CASH_OFFSET] + [CASH_OFFSET] * 3
    qty = [1000 + QTY_OFFSET] + [QTY_OFFSET] * 3
    over = {**inputs, "real": [1, 0, 0, 0], "id": [1, 0, 0, 0], "salt": [1, 0, 0, 0], "cash_off": cash,
            "qty_off[0]": qty, **{f"qty_off[{i}]": [QTY_OFFSET] * 4 for i in range(1, 4)}}
    rejected(sc, over, match=r"acct\[0\]\.mag_range")
    # cash beyond its range
    c2 = list(inputs["cash_off"])
    c2[0] = 1 << 66
    rejected(sc, {**inputs, "cash_off": c2}, match=r"acct\[0\]\.cash_range")
    # a public total that only a wrapped sum could produce
    rejected(sc, {**inputs, "liabilities": R - 1}, match=r"pub\.liabilities_range", consistent=False)


def test_parent_commits_to_max_instead_of_sum(sc: SolvencyCircuit, market: MarketData) -> None:
    inputs, w = honest(sc, market)
    left, right = sc.circuit.value(w, "acct[0].mag"), sc.circuit.value(w, "acct[1].mag")
    rejected(sc, inputs, {"tree.l1[0].owed": max(left, right)}, match=r"tree\.l1\[0\]\.owed:eq")
    lm, rm = sc.circuit.value(w, "acct[0].mm"), sc.circuit.value(w, "acct[1].mm")
    rejected(sc, inputs, {"tree.l1[0].requirement": max(lm, rm)}, match=r"tree\.l1\[0\]\.requirement:eq")


def test_leaf_whose_equity_is_not_the_one_hashed(sc: SolvencyCircuit, market: MarketData) -> None:
    inputs, w = honest(sc, market)
    a = evaluate(BOOK, market.padded(4, 4)).accounts[0]
    fake = leaf_hash(a.id, a.salt, a.owed - 1_000 * USD, a.requirement)
    rejected(sc, inputs, {"acct[0].leaf.out": fake}, match=r"acct\[0\]\.leaf\.out:eq")


def test_duplicated_account(sc: SolvencyCircuit, market: MarketData) -> None:
    inputs, _ = honest(sc, market)
    dup = dict(inputs)
    for key in ("id", "salt", "cash_off"):
        dup[key] = [inputs[key][0], inputs[key][0], *inputs[key][2:]]
    dup["qty_off[1]"] = inputs["qty_off[0]"]
    rejected(sc, dup, match=r"acct\[1\]\.id_gap_range")
    # an unsorted book (the same account set in another order) is refused too: ids must increase
    swapped = dict(inputs)
    for key in ("id", "salt", "cash_off"):
        swapped[key] = [inputs[key][1], inputs[key][0], *inputs[key][2:]]
    swapped["qty_off[0]"], swapped["qty_off[1]"] = inputs["qty_off[1]"], inputs["qty_off[0]"]
    rejected(sc, swapped, match=r"acct\[1\]\.id_gap_range")


def test_omitted_account(sc: SolvencyCircuit, market: MarketData) -> None:
    inputs, _ = honest(sc, market)
    # the last real account (the one in debt) declared padding while its slot still holds its cash
    rejected(sc, {**inputs, "real": [1, 1, 0, 0]}, match=r"acct\[2\]\.pad_cash")
    # a hole in the middle: a padding slot followed by a real one
    rejected(sc, {**inputs, "real": [1, 0, 1, 0], "cash_off": [inputs["cash_off"][0], CASH_OFFSET,
              *inputs["cash_off"][2:]], "id": [inputs["id"][0], 0, *inputs["id"][2:]],
              "salt": [inputs["salt"][0], 0, *inputs["salt"][2:]], "qty_off[1]": [QTY_OFFSET] * 4},
             match=r"acct\[2\]\.real:prefix")


def test_padding_account_carrying_value(sc: SolvencyCircuit, market: MarketData) -> None:
    inputs, _ = honest(sc, market)
    cash = list(inputs["cash_off"])
    cash[3] = CASH_OFFSET + 1_000 * USD
    rejected(sc, {**inputs, "cash_off": cash}, match=r"acct\[3\]\.pad_cash")
    cash[3] = CASH_OFFSET - 1_000 * USD  # a padding slot hiding a debt
    rejected(sc, {**inputs, "cash_off": cash}, match=r"acct\[3\]\.pad_cash")
    qty = list(inputs["qty_off[3]"])
    qty[1] = QTY_OFFSET - 50  # a short call parked in a padding slot
    rejected(sc, {**inputs, "qty_off[3]": qty}, match=r"acct\[3\]\.pad_cash\S*\+pad_qty\[1\]")
    # cash and positions are tested for zero together (packed 66 / 34 bits apart): values that would
    # cancel in a tighter packing still do not cancel here
    cash[3] = CASH_OFFSET + (1 << 64) - 1  # the largest cash
    qty = [QTY_OFFSET - 1, QTY_OFFSET + 1, QTY_OFFSET, QTY_OFFSET]  # -1 lot, +1 lot
    rejected(sc, {**inputs, "cash_off": cash, "qty_off[3]": qty}, match=r"acct\[3\]\.pad_cash")
    cash[3] = CASH_OFFSET
    for k in range(4):
        for v in (QTY_OFFSET - (1 << 32), QTY_OFFSET + (1 << 32) - 1):  # the extremes of each position alone
            q = [QTY_OFFSET] * 4
            q[k] = v
            rejected(sc, {**inputs, "cash_off": cash, "qty_off[3]": q}, match=rf"acct\[3\]\.pad_cash\S*pad_qty\[{k}\]")
    # the padding leaf is fixed: no salt, no id
    rejected(sc, {**inputs, "salt": [*inputs["salt"][:3], 7]}, match=r"acct\[3\]\.pad_salt")
    rejected(sc, {**inputs, "id": [*inputs["id"][:3], 99]}, match=r"acct\[3\]\.pad_id")


def test_position_valued_at_a_mark_other_than_committed(sc: SolvencyCircuit, market: MarketData) -> None:
    inputs, w = honest(sc, market)
    # the whole book valued at a lower call mark, commitment left as published
    marks = list(inputs["mark"])
    marks[1] -= 100_000
    rejected(sc, {**inputs, "mark": marks}, match=r"market\.commitment_eq", consistent=False)
    # one account's position valued at another mark than the (committed) one the circuit holds: the
    # product q_1 * (... + 2^(B*j) * mark_1) of the pack holding the equity check, at a lower mark_1
    q = sc.circuit.value(w, sc.circuit.signal_by_name("qty_off[1][1]")) - QTY_OFFSET
    g, j = pack_slot("equity")
    prod = f"acct[1].pack[{g}].prod[1]"
    cheat = (sc.circuit.value(w, prod) - q * 100_000 * (1 << (PACK_SPACING * j))) % R
    rejected(sc, inputs, {prod: cheat}, match=rf"acct\[1\]\.pack\[{g}\]\.prod\[1\]:mul")
    # a risk array entry changed after commitment
    risk = list(inputs["risk_off[1]"])
    risk[0] -= 1
    rejected(sc, {**inputs, "risk_off[1]": risk}, match=r"market\.commitment_eq", consistent=False)


def test_requirement_lower_than_worst_scenario(sc: SolvencyCircuit, market: MarketData) -> None:
    inputs, w = honest(sc, market)
    acc = evaluate(BOOK, market.padded(4, 4)).accounts[1]
    worst = acc.worst_scenario
    assert worst is not None
    # the second-worst scenario (a real loss, just not the worst)
    other = max((s for s in range(CAP.scenarios) if acc.losses[s] < acc.losses[worst]), key=lambda s: acc.losses[s])
    assert 0 < acc.losses[other] < acc.losses[worst]
    rejected(sc, inputs, {"acct[1].mm": acc.losses[other]}, match=pack_rx(1, f"mm_ge_loss[{worst}]"))
    # the mildest scenario is a gain: choosing it gives a negative requirement, caught by its range
    mild = min(range(CAP.scenarios), key=lambda s: acc.losses[s])
    assert acc.losses[mild] < 0
    rejected(sc, inputs, {"acct[1].mm": acc.losses[mild] % R}, match=r"acct\[1\]\.mm_range")
    # "no loss" (0) for an account that has a loss
    first_loss = next(s for s in range(CAP.scenarios) if acc.losses[s] > 0)
    rejected(sc, inputs, {"acct[1].mm": 0}, match=pack_rx(1, f"mm_ge_loss[{first_loss}]"))
    # a requirement simply written lower
    mm = sc.circuit.value(w, "acct[1].mm")
    assert mm == acc.losses[worst]
    rejected(sc, inputs, {"acct[1].mm": mm - 1}, match=pack_rx(1, f"mm_ge_loss[{worst}]"))


def test_requirement_that_is_no_scenario_loss(sc: SolvencyCircuit, market: MarketData) -> None:
    """MM above every loss (over-stated, or 'any number at least the worst') is rejected: MM must be 0
    or one of the losses, MM * prod_s (MM - loss_s) = 0."""
    inputs, w = honest(sc, market)
    for a in (0, 1):
        mm = sc.circuit.value(w, f"acct[{a}].mm")
        rejected(sc, inputs, {f"acct[{a}].mm": mm + 1}, match=rf"acct\[{a}\]\.mm:one_of")
        rejected(sc, inputs, {f"acct[{a}].mm": mm + 10**9}, match=rf"acct\[{a}\]\.mm:one_of")
    # an account with no loss in any scenario has MM = 0; a positive MM is rejected the same way
    res = evaluate(BOOK, market.padded(4, 4))
    assert res.accounts[2].requirement > 0 and sc.circuit.value(w, "acct[3].mm") == 0
    rejected(sc, inputs, {"acct[3].mm": 5}, match=r"acct\[3\]\.mm:one_of")
    # the running product is a real product: a prover cannot zero it midway
    rejected(sc, inputs, {"acct[1].mm": sc.circuit.value(w, "acct[1].mm") + 1, "acct[1].one_of[0]": 0},
             match=r"acct\[1\]\.one_of\[0\]:mul")


def test_wrong_under_margined_count(sc: SolvencyCircuit, market: MarketData) -> None:
    inputs, w = honest(sc, market)
    rejected(sc, {**inputs, "underMargined": inputs["underMargined"] - 1}, match="underMargined_eq",
             consistent=False)
    # flip one account's flag (bit 65 of MM - E - 1 + 2^65), in either direction
    bit = f"acct[1].under.bits[{VALUE_BITS + 1}]"
    assert sc.circuit.value(w, bit) == 1
    rejected(sc, inputs, {bit: 0}, match=pack_rx(1, "under"))
    bit0 = f"acct[0].under.bits[{VALUE_BITS + 1}]"
    assert sc.circuit.value(w, bit0) == 0
    rejected(sc, inputs, {bit0: 1}, match=pack_rx(0, "under"))


def test_unconstrained_sign_and_check_bits(sc: SolvencyCircuit, market: MarketData) -> None:
    inputs, w = honest(sc, market)
    assert sc.circuit.unconstrained_signals() == []
    rejected(sc, inputs, {"acct[0].under.bits[3]": 2}, match=r"acct\[0\]\.under\.bits\[3\]:bool")
    rejected(sc, inputs, {"acct[1].mm_ge_loss[2].bits[0]": R - 1}, match=r"acct\[1\]\.mm_ge_loss\[2\]\.bits\[0\]:bool")
    rejected(sc, inputs, {"acct[2].neg": 2}, match=r"acct\[2\]\.neg:bool", consistent=False)
    rejected(sc, {**inputs, "real": [1, 1, 1, 2]}, match=r"acct\[3\]\.real:bool")


def test_totals_not_equal_to_root_sums(sc: SolvencyCircuit, market: MarketData) -> None:
    inputs, _ = honest(sc, market)
    for name in ("liabilities", "maintenanceMargin", "badDebt", "root"):
        rejected(sc, {**inputs, name: inputs[name] + 1}, match=rf"{name}_eq", consistent=False)
    rejected(sc, {**inputs, "liabilities": inputs["liabilities"] - 1}, match="liabilities_eq", consistent=False)


# --- circuit equals evaluator, hypothesis --------------------------------------------------------------------

accounts_st = st.lists(
    st.tuples(st.integers(-(10**12), 10**12),
              st.lists(st.integers(-500, 500), min_size=4, max_size=4),
              st.integers(0, R - 1)),
    min_size=0, max_size=CAP.accounts)


def book_from(rows: list[tuple[int, list[int], int]], ids: list[int]) -> Book:
    accs = []
    for (cash, q, salt), aid in zip(rows, ids):
        accs.append(Account(aid, salt, cash, {i.id: v for i, v in zip(INSTRUMENTS, q) if v}))
    return book_of(*accs)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=accounts_st, first=st.integers(0, 2**40), gaps=st.lists(st.integers(1, 2**20), min_size=4, max_size=4))
def test_circuit_equals_evaluator(sc: SolvencyCircuit, market: MarketData, rows: list[Any], first: int,
                                  gaps: list[int]) -> None:
    ids = [first + sum(gaps[:i]) for i in range(len(rows))]
    book = book_from(rows, ids)
    inputs, w = honest(sc, market, book)
    assert public_signals_of(w) == expected_public(CTX, book, market, CAP)
    res = evaluate(book, market.padded(4, 4))
    for i, a in enumerate(res.accounts):
        assert sc.circuit.value(w, f"acct[{i}].mm") == a.requirement
        assert sc.circuit.value(w, f"acct[{i}].debt") == a.bad_debt
        assert sc.circuit.value(w, f"acct[{i}].under.bits[{VALUE_BITS + 1}]") == int(a.under_margined)


# --- hedges ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("legs", [({CALL: 20}, {CALL_HI: -20}), ({PERP: 20}, {PUT: 20})],
                         ids=["call_spread", "perp_plus_put"])
def test_hedged_portfolio_needs_less_margin(sc: SolvencyCircuit, market: MarketData,
                                            legs: tuple[dict[str, int], dict[str, int]]) -> None:
    a, b = legs
    book = book_of(Account(1, 5, 10_000 * USD, a), Account(2, 6, 10_000 * USD, b),
                   Account(3, 7, 10_000 * USD, {**a, **b}))
    md = market.padded(4, 4)
    res = evaluate(book, md)
    mm_a, mm_b, mm_h = (x.requirement for x in res.accounts)
    assert mm_h < mm_a + mm_b
    assert mm_h < max(mm_a, mm_b)
    _, w = honest(sc, market, book)
    assert [sc.circuit.value(w, f"acct[{i}].mm") for i in range(3)] == [mm_a, mm_b, mm_h]
    assert public_signals_of(w) == expected_public(CTX, book, market, CAP)


def test_full_span_grid_circuit(market: MarketData) -> None:
    """The documented 16-scenario grid at a tiny account capacity."""
    cap = Capacity(2, 4, 16)
    circ = SolvencyCircuit(cap)
    md = compute_market_data(INSTRUMENTS, default_market_inputs())
    book = generate_book(CTX.chain_id, 2, seed=3)
    w = circ.witness(circ.inputs(CTX, book, md))
    circ.circuit.check(w)
    assert public_signals_of(w) == expected_public(CTX, book, md, cap)
    assert circ.circuit.unconstrained_signals() == []
    assert re.match(r"solvency_2x4x16", circ.circuit.name)


def test_inclusion_paths_verify_against_the_proven_root(sc: SolvencyCircuit, market: MarketData) -> None:
    from relayer.circuits.solvency import build_tree

    inputs, w = honest(sc, market)
    pub = dict(zip(PUBLIC_INPUTS, public_signals_of(w)))
    tree = build_tree(evaluate(BOOK, market.padded(4, 4)), CAP)
    for a in BOOK.accounts:
        node = tree.proof(a.id).verify(pub["root"], pub["liabilities"], pub["maintenanceMargin"])
        assert node.hash == sc.circuit.value(w, "root")


def test_shape_and_context_errors(market: MarketData) -> None:
    for bad in ((3, 4, 4), (1, 4, 4), (4, 0, 4), (4, 17, 4), (4, 4, 0), (2**21, 4, 4)):
        with pytest.raises(ProverError, match="capacity"):
            Capacity(*bad)
    with pytest.raises(ProverError, match="block_hash"):
        ChainContext(1, 1, b"\x00" * 31, 0, 1)
    for not_bytes in ("ab" * 16, None, [0] * 32):  # a hex-ish str of 32 chars is not 32 bytes
        with pytest.raises(ProverError, match="block_hash"):
            ChainContext(1, 1, not_bytes, 0, 1)  # type: ignore[arg-type]
    with pytest.raises(ProverError, match="assets"):
        ChainContext(1, 1, b"\x00" * 32, 1 << 96, 1)
    with pytest.raises(ProverError, match="round"):
        ChainContext(1, 1, b"\x00" * 32, 0, -1)
    with pytest.raises(RiskModelError, match="exceeds the capacity"):
        market.padded(3, 4)
    sc2 = SolvencyCircuit(Capacity(2, 4, 4))
    with pytest.raises(ProverError, match="chain"):
        sc2.inputs(ChainContext(5, 1, bytes(32), 0, 1), book_of(), market)
    # market data for other instruments than the book's
    other = compute_market_data(tuple(reversed(INSTRUMENTS)), default_market_inputs(), compact_grid(4))
    with pytest.raises(RiskModelError, match="do not match"):
        evaluate(BOOK, other)


def test_scenario_swing_beyond_the_proven_range(market: MarketData) -> None:
    """A book whose scenario gains reach 2^64 cannot be proven; the evaluator says so before proving."""
    wild = MarketData(market.instrument_ids, (0, *market.marks[1:]),
                      (((1 << 40) - 1, -(1 << 40), 0, 0), *market.risk[1:]), market.scenario_names)
    big = book_of(Account(1, 1, 0, {PERP: (1 << 32) - 1}))
    with pytest.raises(RiskModelError, match="swing"):
        evaluate(big, wild)
    # the circuit agrees: forcing the witness through fails the requirement range checks
    sc2 = SolvencyCircuit(Capacity(2, 4, 4))
    ok = book_of(Account(1, 1, 0, {PERP: 1}))
    inputs = sc2.inputs(CTX, ok, wild)
    qty = list(inputs["qty_off[0]"])
    qty[0] = QTY_OFFSET + (1 << 32) - 1
    w = sc2.witness({**inputs, "qty_off[0]": qty})
    with pytest.raises(UnsatisfiedConstraint, match=r"acct\[0\]\.(mm_range|pack\[\d+\]:\S*mm_ge_loss)"):
        sc2.circuit.check(w)


def test_account_id_past_uint64(sc: SolvencyCircuit, market: MarketData) -> None:
    """Ids are uint64: the per-slot order check also bounds the last real id before the padding, the
    last slot's id is bounded on its own, and slot 0's id is range-checked."""
    inputs, _ = honest(sc, market)
    big = 1 << 64
    # three real accounts, the last one's id past 2^64 (still increasing): caught at the first padding slot
    rejected(sc, {**inputs, "id": [*inputs["id"][:2], big + 3, 0]}, match=r"acct\[3\]\.id_gap_range")
    rejected(sc, {**inputs, "id": [*inputs["id"][:2], big, 0]}, match=r"acct\[3\]\.id_gap_range")
    # the largest uint64 is fine
    _, w = honest(sc, market, book_of(*BOOK.accounts[:2], Account(big - 1, 3333, -20_000 * USD, {PERP: 40})))
    # a full book: the last slot has no successor, its own check catches it
    full = generate_book(CTX.chain_id, CAP.accounts, seed=5)
    fin = sc.inputs(CTX, full, market)
    rejected(sc, {**fin, "id": [*fin["id"][:3], big + 1]}, match=r"acct\[3\]\.id_last_range")
    rejected(sc, {**fin, "id": [*fin["id"][:3], big]}, match=r"acct\[3\]\.id_last_range")
    _, w = honest(sc, market, book_of(*(Account(big - 4 + i, i + 1, USD, {}) for i in range(4))))
    # slot 0
    rejected(sc, {**inputs, "id": [big + 1, *inputs["id"][1:]]}, match=r"acct\[0\]\.id_range")
    # an id that wraps around the field (a "negative" id just below the next one) is caught by the order
    rejected(sc, {**inputs, "id": [inputs["id"][0], R - 1, *inputs["id"][2:]]}, match=r"acct\[1\]\.id_gap_range")
