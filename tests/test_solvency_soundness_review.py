"""Adversarial review of the solvency-circuit reductions (2,380 -> 2,187 constraints per account): for each
change, a cheating prover tries a witness that satisfies the other constraints but breaks the statement.
Packed checks (strongest attacker: bits chosen from the packed field value), `one_of`, the folded id check,
Poseidon folding and dense partial rounds, the packed padding zero test, and exhaustive one-wire tampering."""

from __future__ import annotations

import json
import random
import re
import shutil
import subprocess
from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from relayer.circuits.solvency import (
    PACK_BOUND,
    PAD_PACK_BITS,
    Capacity,
    ChainContext,
    SolvencyCircuit,
    public_signals_of,
)
from relayer.errors import UnsatisfiedConstraint
from relayer.risk.evaluator import evaluate
from relayer.risk.market import MarketData
from relayer.risk.synthetic import generate_book
from relayer.risk.units import (
    CASH_BITS,
    CASH_OFFSET,
    ID_BITS,
    MARK_BITS,
    MAX_INSTRUMENTS,
    QTY_BITS,
    QTY_OFFSET,
    RISK_BITS,
    RISK_OFFSET,
    VALUE_BITS,
)
from relayer.zk.circuit import Circuit
from relayer.zk.field import R
from relayer.zk.gadgets import pack_layout, poseidon_hash
from relayer.zk.gadgets.bits import MAX_BITS
from relayer.zk.gadgets.poseidon import DENSE, _partial_plan
from relayer.zk.poseidon import MAX_INPUTS, params, poseidon
from relayer.zk.r1cs import R1CS

# the shape, fixtures (sc, market) and book of tests/test_solvency_circuit.py: three real accounts + one
# padding slot (hedged healthy, under-margined naked short, negative equity)
from test_solvency_circuit import BOOK, CAP, INSTRUMENTS, PACKED, book_of, market, sc  # noqa: F401

ROOT = Path(__file__).resolve().parents[1]
CTX = ChainContext(chain_id=31337, block_number=77, block_hash=bytes(range(32)), assets=10**13, round=3)
SPACING, PER = pack_layout(PACK_BOUND)
WIDTH = {**{f"mm_ge_loss[{s}]": VALUE_BITS for s in range(CAP.scenarios)}, "equity": 0, "under": VALUE_BITS + 2}
U64 = 1 << ID_BITS


assert BOOK.chain_id == CTX.chain_id


def satisfied(sc: SolvencyCircuit, inputs: Mapping[str, Any], overrides: Mapping[str, int] | None = None) -> bool:
    """A cheating prover that publishes the root, totals and commitment its own witness implies (so only the
    rule under attack can catch it): does the circuit accept?"""
    w = sc.witness(inputs, overrides=overrides)
    w = sc.witness({**inputs, **sc.implied_public(w)}, overrides=overrides)
    return sc.circuit.compile().is_satisfied(w)


def rejected_at(sc: SolvencyCircuit, inputs: Mapping[str, Any], overrides: Mapping[str, int] | None,
                match: str) -> None:
    w = sc.witness(inputs, overrides=overrides)
    w = sc.witness({**inputs, **sc.implied_public(w)}, overrides=overrides)
    with pytest.raises(UnsatisfiedConstraint, match=match):
        sc.circuit.check(w)


def failing(sc: SolvencyCircuit, inputs: Mapping[str, Any], overrides: Mapping[str, int] | None = None) -> list[str]:
    """Names of every constraint the (consistently published) cheating witness breaks."""
    w = sc.witness(inputs, overrides=overrides)
    w = sc.witness({**inputs, **sc.implied_public(w)}, overrides=overrides)
    r1cs = sc.circuit.compile()
    out = []
    for (a, b, c), name in zip(r1cs.constraints, r1cs.constraint_names):
        va, vb, vc = (sum(w[k] * v for k, v in x.items()) for x in (a, b, c))
        if (va * vb - vc) % R:
            out.append(name)
    return out


def val(sc: SolvencyCircuit, w: Sequence[int], name: str) -> int:
    return sc.circuit.value(w, name)


def signed(v: int) -> int:
    return v - R if v > R // 2 else v


# --- the strongest attacker on a packed recomposition ----------------------------------------------------------

def packed_values(sc: SolvencyCircuit, w: Sequence[int], a: int) -> dict[str, int]:
    """The field values (mod r) of slot a's packed checks as the witness's own signals define them."""
    k_n, s_n = CAP.instruments, CAP.scenarios
    mm = val(sc, w, f"acct[{a}].mm")
    cash = val(sc, w, f"cash_off[{a}]") - CASH_OFFSET
    q = [val(sc, w, f"qty_off[{a}][{k}]") - QTY_OFFSET for k in range(k_n)]
    mark = [val(sc, w, f"mark[{k}]") for k in range(k_n)]
    risk = [[val(sc, w, f"risk_off[{k}][{s}]") - RISK_OFFSET for s in range(s_n)] for k in range(k_n)]
    e = val(sc, w, f"acct[{a}].mag") - 2 * val(sc, w, f"acct[{a}].debt")
    out = {f"mm_ge_loss[{s}]": (mm + sum(q[k] * risk[k][s] for k in range(k_n))) % R for s in range(s_n)}
    out["equity"] = (cash - e + sum(q[k] * mark[k] for k in range(k_n))) % R
    out["under"] = (mm - e - 1 + (1 << (VALUE_BITS + 1))) % R
    return out


def smart_pack_bits(sc: SolvencyCircuit, inputs: Mapping[str, Any], overrides: Mapping[str, int],
                    a: int, layout: tuple[int, int] = (SPACING, PER)) -> dict[str, int]:
    """Bits for slot a's packs that make each recomposition hold whenever ANY bits could: the sum of a
    pack's bits, < 2^(SPACING * PER) < r, must equal the pack's field value V as an integer, so the only
    candidate is V's base-2^SPACING digits (truncated to each value's width when they do not fit)."""
    spacing, per = layout
    w = sc.witness(inputs, overrides=overrides)
    vals = packed_values(sc, w, a)
    bits: dict[str, int] = {}
    for start in range(0, len(PACKED), per):
        group = PACKED[start:start + per]
        v = sum(vals[n] << (spacing * j) for j, n in enumerate(group)) % R
        for j, n in enumerate(group):
            digit = (v >> (spacing * j)) & ((1 << spacing) - 1)
            for i in range(WIDTH[n]):
                bits[f"acct[{a}].{n}.bits[{i}]"] = (digit >> i) & 1
    return bits


def smart_attack(sc: SolvencyCircuit, inputs: Mapping[str, Any], cheat: Mapping[str, int], a: int,
                 layout: tuple[int, int] = (SPACING, PER)) -> bool:
    ov = dict(cheat)
    ov.update(smart_pack_bits(sc, inputs, ov, a, layout))
    return satisfied(sc, inputs, ov)


def test_smart_attacker_reproduces_the_honest_bits(sc: SolvencyCircuit, market: MarketData) -> None:
    """The attacker's bit choice is the honest one on an honest witness (so it is a real attack, not noise)."""
    inputs = sc.inputs(CTX, BOOK, market)
    w = sc.witness(inputs)
    for a in range(CAP.accounts):
        for name, bit in smart_pack_bits(sc, inputs, {}, a).items():
            assert val(sc, w, name) == bit
        assert smart_attack(sc, inputs, {}, a)


# --- 1. packed checks: the bounds they rely on hold for every witness the OTHER constraints allow ------------

def test_pack_bound_holds_at_the_extremes_of_every_range() -> None:
    """|value| < 2^PACK_BOUND from the range checks alone (not from the honest computation): the extreme
    corners of the input boxes, with MAX_INSTRUMENTS instruments."""
    q_lo, q_hi = -(1 << QTY_BITS), (1 << QTY_BITS) - 1
    r_lo, r_hi = -(1 << RISK_BITS), (1 << RISK_BITS) - 1
    m_lo, m_hi = 0, (1 << MARK_BITS) - 1
    mm_lo, mm_hi = 0, (1 << VALUE_BITS) - 1
    e_lo, e_hi = -((1 << VALUE_BITS) - 1), (1 << VALUE_BITS) - 1  # mag < 2^64, neg boolean, debt = neg * mag
    c_lo, c_hi = -(1 << CASH_BITS), (1 << CASH_BITS) - 1
    qr = [x * y for x in (q_lo, q_hi) for y in (r_lo, r_hi)]
    qm = [x * y for x in (q_lo, q_hi) for y in (m_lo, m_hi)]
    n = MAX_INSTRUMENTS
    d = [mm_lo + n * min(qr), mm_hi + n * max(qr)]
    eq = [c_lo - e_hi + n * min(qm), c_hi - e_lo + n * max(qm)]
    under = [mm_lo - e_hi - 1 + (1 << 65), mm_hi - e_lo - 1 + (1 << 65)]
    for lo, hi in (d, eq, under):
        assert max(abs(lo), abs(hi)) < 1 << PACK_BOUND
    # note: |sum_k q*R| reaches 2^76 exactly (q = -2^32, R = -2^40 for all 16 instruments); docs/solvency.md and
    # units.py write "< 2^76", which is off at that one corner; the pack bound 2^77 still holds with room
    assert n * max(qr) == 1 << 76
    # `under` is even inside its own 66-bit width for every such witness: the flag is always computable
    assert 0 <= under[0] and under[1] < 1 << (VALUE_BITS + 2)
    # no integer sum of a pack's differences can reach r: |sum_j 2^(Bj) (v_j - u_j)| < 2^(B(g-1) + b + 2)
    assert SPACING * (PER - 1) + PACK_BOUND + 2 <= MAX_BITS and (1 << MAX_BITS) < R
    assert (SPACING, PER) == (78, 3)
    # padding zero test: |cash| <= 2^64 < 2^65 in a 66-bit slot, |q| <= 2^32 < 2^33 in a 34-bit slot, and
    # the widest group (cash + 5 quantities, or 7 quantities) stays below 2^PAD_PACK_BITS < r
    assert CASH_BITS + 2 + 5 * (QTY_BITS + 2) <= PAD_PACK_BITS and 7 * (QTY_BITS + 2) <= PAD_PACK_BITS < MAX_BITS


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(a=st.integers(0, 3), data=st.data())
def test_smart_attacker_cannot_move_mm(sc: SolvencyCircuit, market: MarketData, a: int, data: st.DataObject) -> None:
    """Any MM other than max(0, max_s loss_s) is rejected, even with the best bits for every pack: MM = 0
    under a positive loss, a non-maximal loss, one above every loss, field negatives, huge values."""
    inputs = sc.inputs(CTX, BOOK, market)
    w = sc.witness(inputs)
    mm = val(sc, w, f"acct[{a}].mm")
    losses = [signed((mm - sum(val(sc, w, f"acct[{a}].mm_ge_loss[{s}].bits[{i}]") << i for i in range(64))) % R)
              for s in range(CAP.scenarios)]
    assert mm == max(0, *losses)
    cheat = data.draw(st.one_of(
        st.sampled_from([0, 1, mm - 1, mm + 1, U64 - 1, U64, R - 1, R - mm, *[x % R for x in losses]]),
        st.integers(0, U64 - 1), st.integers(0, R - 1)), label="mm") % R
    ok = smart_attack(sc, inputs, {f"acct[{a}].mm": cheat}, a)
    event("accepted" if ok else "rejected")
    assert ok == (cheat == mm)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(a=st.integers(0, 3), neg=st.integers(0, 1), data=st.data())
def test_smart_attacker_cannot_move_equity(sc: SolvencyCircuit, market: MarketData, a: int, neg: int,
                                            data: st.DataObject) -> None:
    """The equity's 0-bit check packed with d_3 and `under`: no (sign, magnitude) other than the true E passes
    (E = 0 has two encodings, both with zero debt and zero owed)."""
    inputs = sc.inputs(CTX, BOOK, market)
    e_true = ([x.equity for x in evaluate(BOOK, market.padded(4, 4)).accounts] + [0])[a]
    mag = data.draw(st.one_of(st.sampled_from([0, 1, abs(e_true), abs(e_true) + 1, abs(e_true) - 1, U64 - 1,
                                               U64, R - abs(e_true)]), st.integers(0, U64 - 1)), label="mag") % R
    ok = smart_attack(sc, inputs, {f"acct[{a}].neg": neg, f"acct[{a}].mag": mag}, a)
    assert ok == (signed((mag - 2 * neg * mag) % R) == e_true and mag < U64)


def _signed_int(bits: int) -> st.SearchStrategy[int]:
    lo, hi = -(1 << bits), (1 << bits) - 1
    return st.one_of(st.integers(-1000, 1000), st.sampled_from([lo, hi, lo + 1, hi - 1, 0]), st.integers(lo, hi))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(q=st.lists(_signed_int(QTY_BITS), min_size=4, max_size=4),
       risk=st.lists(st.lists(_signed_int(RISK_BITS), min_size=4, max_size=4), min_size=4, max_size=4),
       marks=st.lists(st.one_of(st.integers(0, 10**6), st.integers(0, (1 << MARK_BITS) - 1)), min_size=4, max_size=4),
       cash=_signed_int(CASH_BITS), data=st.data())
def test_smart_attacker_on_any_in_range_inputs(sc: SolvencyCircuit, market: MarketData, q: list[int],
                                              risk: list[list[int]], marks: list[int], cash: int,
                                              data: st.DataObject) -> None:
    """Any private inputs the range checks allow (the prover's own quantities, cash and market data, with the
    commitment it implies), any claimed (MM, sign, magnitude), the best pack bits: accepted only when MM and
    E are the true max(0, max_s loss_s) and cash + sum q*mark."""
    a = 0
    inputs = dict(sc.inputs(CTX, BOOK, market))
    inputs["mark"] = marks
    for k in range(4):
        inputs[f"risk_off[{k}]"] = [x + RISK_OFFSET for x in risk[k]]
    inputs[f"qty_off[{a}]"] = [x + QTY_OFFSET for x in q]
    inputs["cash_off"] = [cash + CASH_OFFSET] + list(inputs["cash_off"][1:])
    losses = [-sum(q[k] * risk[k][s] for k in range(4)) for s in range(4)]
    mm_true = max(0, *losses)
    e_true = cash + sum(q[k] * marks[k] for k in range(4))
    provable = mm_true < U64 and abs(e_true) < U64 and all(mm_true - x < U64 for x in losses)
    mm = data.draw(st.one_of(st.just(mm_true), st.sampled_from([0, *losses]), st.integers(0, U64 - 1)), label="mm")
    e = data.draw(st.one_of(st.just(e_true), st.integers(-(U64 - 1), U64 - 1)), label="e")
    ok = smart_attack(sc, inputs, {f"acct[{a}].mm": mm % R, f"acct[{a}].neg": int(e < 0),
                                   f"acct[{a}].mag": abs(e) % R}, a)
    event("accepted" if ok else "rejected")
    if ok:
        assert (mm, e) == (mm_true, e_true) and provable
    elif provable and (mm, e) == (mm_true, e_true):
        # the bounds of the other slots' values and the public ranges are unchanged: this must prove
        pytest.fail("the honest values were refused")


def test_smart_attacker_at_extreme_inputs(sc: SolvencyCircuit, market: MarketData) -> None:
    """Quantities and risk entries at the corners of their ranges (a prover may choose its private market
    data and publish the commitment it implies): d_s is then far past 2^64 and no MM, no bits, pass."""
    inputs = dict(sc.inputs(CTX, BOOK, market))
    a = 0
    inputs[f"qty_off[{a}]"] = [0] * CAP.instruments  # q = -2^32 for every instrument
    for k in range(CAP.instruments):
        inputs[f"risk_off[{k}]"] = [(2 << RISK_BITS) - 1] * CAP.scenarios  # R = 2^40 - 1: every loss = 4 * 2^72
    w = sc.witness(inputs)
    assert not sc.circuit.compile().is_satisfied(w)  # the honest prover cannot prove it (MM < 2^64)
    for cheat in (0, U64 - 1, (-4 * (1 << 32) * ((1 << 40) - 1)) % R, R - 1):
        assert not smart_attack(sc, inputs, {f"acct[{a}].mm": cheat}, a)
    # a borrow from the neighbour: d_0 = -1 written as (2^78 - 1) with d_1 one lower is out of 64 bits
    inputs = sc.inputs(CTX, BOOK, market)
    w = sc.witness(inputs)
    mm = val(sc, w, "acct[1].mm")
    assert not smart_attack(sc, inputs, {"acct[1].mm": mm - 1}, 1)


def test_attacker_breaks_a_packing_tighter_than_the_bound(market: MarketData, monkeypatch: pytest.MonkeyPatch) -> None:
    """The attacker is strong enough to matter: packed 67 bits apart (a bound of 66, what the honest d_s, E
    and `under` fit in), a loss of 2^67 in scenario 0 borrows from d_1 and MM = 0 is accepted. At the real
    PACK_BOUND (77, from the range checks of q, R, MM, cash and mag) the same witness is rejected."""
    import relayer.circuits.solvency as solvency

    def cheat_inputs(c: SolvencyCircuit) -> dict[str, Any]:
        inp = dict(c.inputs(CTX, BOOK, market))
        inp["qty_off[0]"] = [QTY_OFFSET - (1 << 27)] + [QTY_OFFSET] * 3  # short 2^27 perps, nothing else
        inp["risk_off[0]"] = [RISK_OFFSET + (1 << 40) - 1, RISK_OFFSET - 1, RISK_OFFSET, RISK_OFFSET]
        inp["cash_off"] = [CASH_OFFSET + (1 << 60)] + list(inp["cash_off"][1:])
        return inp

    real = SolvencyCircuit(CAP)
    inp = cheat_inputs(real)
    loss0 = (1 << 27) * ((1 << 40) - 1)
    assert loss0 >= 1 << 66  # the honest MM is past 2^64: no honest proof exists
    assert not real.circuit.compile().is_satisfied(real.witness(inp))
    assert not smart_attack(real, inp, {"acct[0].mm": 0}, 0)
    monkeypatch.setattr(solvency, "PACK_BOUND", 66)
    weak = SolvencyCircuit(CAP)
    assert smart_attack(weak, cheat_inputs(weak), {"acct[0].mm": 0}, 0, pack_layout(66))


# --- 2. one_of: MM is 0 or one of the losses --------------------------------------------------------------------

def test_one_of_attacks(sc: SolvencyCircuit, market: MarketData) -> None:
    inputs = sc.inputs(CTX, BOOK, market)
    w = sc.witness(inputs)
    a = 1  # the naked short: a positive worst loss
    mm = val(sc, w, f"acct[{a}].mm")
    d = [sum(val(sc, w, f"acct[{a}].mm_ge_loss[{s}].bits[{i}]") << i for i in range(64)) for s in range(4)]
    losses = [mm - x for x in d]
    assert mm > 0 and mm == max(losses)
    worst = losses.index(mm)
    # MM = 0 with a positive loss: d_worst = -loss is negative
    pack = PACKED.index(f"mm_ge_loss[{worst}]") // PER
    rejected_at(sc, inputs, {f"acct[{a}].mm": 0}, rf"acct\[{a}\]\.pack\[{pack}\]")
    # MM above every loss: every d_s > 0, the product is non-zero
    rejected_at(sc, inputs, {f"acct[{a}].mm": mm + 1}, rf"acct\[{a}\]\.mm:one_of")
    # MM one of the losses but not the largest (when another loss is positive and smaller)
    smaller = sorted({x for x in losses if 0 < x < mm})
    for x in smaller:
        assert not smart_attack(sc, inputs, {f"acct[{a}].mm": x}, a)
    # MM above every loss with the running product zeroed at each step, downstream recomputed
    for s in range(CAP.scenarios - 1):
        rejected_at(sc, inputs, {f"acct[{a}].mm": mm + 5, f"acct[{a}].one_of[{s}]": 0},
                    rf"acct\[{a}\]\.one_of\[{s}\]:mul")
    # ... and tampered in place (nothing recomputed)
    w_hi = sc.witness(inputs, overrides={f"acct[{a}].mm": mm + 5})
    for s in range(CAP.scenarios - 1):
        with pytest.raises(UnsatisfiedConstraint, match=rf"acct\[{a}\]\.one_of\[{s}\]:mul"):
            sc.circuit.check(sc.circuit.tamper(w_hi, {f"acct[{a}].one_of[{s}]": 0}))


def test_one_of_when_every_loss_is_negative(sc: SolvencyCircuit, market: MarketData) -> None:
    """The documented rule MM = max(0, max_s loss_s): with every loss negative, MM must be 0; the largest
    (negative) loss is refused by mm_range, and 0 is accepted."""
    inputs = dict(sc.inputs(CTX, BOOK, market))
    a = 0
    inputs[f"qty_off[{a}]"] = [QTY_OFFSET + 3] + [QTY_OFFSET] * (CAP.instruments - 1)  # long 3 perps
    inputs[f"risk_off[0]"] = [RISK_OFFSET + 1_000 * (s + 1) for s in range(CAP.scenarios)]  # perp gains everywhere
    w = sc.witness(inputs)
    losses = [-3 * 1_000 * (s + 1) for s in range(CAP.scenarios)]
    assert val(sc, w, f"acct[{a}].mm") == 0 and satisfied(sc, inputs)
    rejected_at(sc, inputs, {f"acct[{a}].mm": max(losses) % R}, rf"acct\[{a}\]\.mm_range")
    for cheat in (max(losses) % R, 1, 2_999, 3_000):
        assert not smart_attack(sc, inputs, {f"acct[{a}].mm": cheat}, a)


# --- 3. ids: order and uint64 bound folded into one check per slot ---------------------------------------------

ID_POOL = [0, 1, 5, 6, 1 << 32, U64 - 2, U64 - 1, U64, U64 + 1, 1 << 65, R - 1, R - 2, R - U64]


@pytest.fixture(scope="module")
def full_inputs(sc: SolvencyCircuit, market: MarketData) -> dict[str, Any]:
    return dict(sc.inputs(CTX, generate_book(CTX.chain_id, CAP.accounts, seed=7), market))


def with_slots(full: Mapping[str, Any], real: Sequence[int], ids: Sequence[int]) -> dict[str, Any]:
    """The full book's accounts with chosen real flags and ids; a padding slot holds nothing (cash, quantities
    and salt 0) so that only the id rules are under attack."""
    inp = dict(full)
    inp["real"] = list(real)
    inp["id"] = list(ids)
    inp["salt"] = [s if r else 0 for s, r in zip(full["salt"], real)]
    inp["cash_off"] = [c if r else CASH_OFFSET for c, r in zip(full["cash_off"], real)]
    for a, r in enumerate(real):
        if not r:
            inp[f"qty_off[{a}]"] = [QTY_OFFSET] * CAP.instruments
    return inp


def id_rule(real: Sequence[int], ids: Sequence[int]) -> bool:
    n = sum(real)
    if list(real) != [1] * n + [0] * (len(real) - n):
        return False
    r_ids = ids[:n]
    return (all(0 <= x < U64 for x in r_ids) and all(x < y for x, y in zip(r_ids, r_ids[1:]))
            and all(x == 0 for x in ids[n:]))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(real=st.lists(st.integers(0, 1), min_size=4, max_size=4),
       ids=st.lists(st.one_of(st.sampled_from(ID_POOL), st.integers(0, 40)), min_size=4, max_size=4))
def test_id_rule_exactly(sc: SolvencyCircuit, full_inputs: dict[str, Any], real: list[int], ids: list[int]) -> None:
    """Accepted iff real slots form a prefix, their ids are strictly increasing uint64 and padding ids are 0
    (range-check bits are unique, so the honest hint is the best any prover can do)."""
    assert satisfied(sc, with_slots(full_inputs, real, ids)) == id_rule(real, ids)


@pytest.mark.parametrize("real,ids,match", [
    ([1, 1, 1, 0], [5, 5, 9, 0], r"acct\[1\]\.id_gap_range"),  # duplicate
    ([1, 1, 1, 0], [5, 4, 9, 0], r"acct\[1\]\.id_gap_range"),  # decrease
    ([1, 1, 0, 0], [5, U64, 0, 0], r"acct\[2\]\.id_gap_range"),  # past uint64 before the padding
    ([1, 1, 1, 0], [5, U64 + 1, U64 + 2, 0], r"acct\[3\]\.id_gap_range"),  # a run past uint64
    ([1, 1, 1, 1], [5, 6, 7, U64], r"acct\[3\]\.id_last_range"),  # full book, last slot past uint64
    ([1, 1, 1, 1], [5, 6, U64 + 3, U64 + 4], r"acct\[3\]\.id_last_range"),
    ([1, 1, 1, 1], [R - 1, 0, 1, 2], r"acct\[0\]\.id_range"),  # field-wrapped id at slot 0
    ([1, 1, 0, 0], [5, R - 1, 0, 0], r"acct\[1\]\.id_gap_range"),  # field-wrapped id later
    ([1, 0, 0, 0], [U64, 0, 0, 0], r"acct\[0\]\.id_range"),
    ([1, 0, 0, 0], [5, 0, 7, 0], r"acct\[2\]\.pad_id"),  # padding id
    ([1, 0, 1, 0], [5, 0, 7, 0], r"acct\[2\]\.real:prefix"),  # a real slot after padding
    ([0, 0, 0, 0], [0, 0, 0, 3], r"acct\[3\]\.pad_id"),
])
def test_id_attacks(sc: SolvencyCircuit, full_inputs: dict[str, Any], real: list[int], ids: list[int],
                    match: str) -> None:
    assert not id_rule(real, ids)
    rejected_at(sc, with_slots(full_inputs, real, ids), None, match)


def test_id_edges_accepted(sc: SolvencyCircuit, full_inputs: dict[str, Any]) -> None:
    for real, ids in (([1, 1, 1, 1], [0, 1, U64 - 2, U64 - 1]), ([1, 1, 0, 0], [0, U64 - 1, 0, 0]),
                      ([0, 0, 0, 0], [0, 0, 0, 0]), ([1, 0, 0, 0], [U64 - 1, 0, 0, 0])):
        assert satisfied(sc, with_slots(full_inputs, real, ids))


# --- 5. padding slots: cash and quantities tested for zero in one packed constraint ----------------------------

def pad_slot(inputs: Mapping[str, Any], a: int, cash: int, qty: Sequence[int]) -> dict[str, Any]:
    inp = dict(inputs)
    inp["cash_off"] = list(inputs["cash_off"])
    inp["cash_off"][a] = (cash + CASH_OFFSET) % R
    inp[f"qty_off[{a}]"] = [(q + QTY_OFFSET) % R for q in qty]
    return inp


def test_padding_cancellation_needs_an_out_of_range_value(sc: SolvencyCircuit, market: MarketData) -> None:
    """cash + 2^66 q_0 = 0 with cash = -2^66 passes the packed zero test itself: cash_range is what refuses it;
    likewise q_0 = -2^34, q_1 = 1 and qty_range."""
    inputs = sc.inputs(CTX, BOOK, market)
    a = 3
    pad_rx = r"acct\[3\]\.pad_cash\+pad_qty"
    for cash, qty, range_rx in ((-(1 << 66), [1, 0, 0, 0], r"acct\[3\]\.cash_range"),
                                (0, [-(1 << 34), 1, 0, 0], r"acct\[3\]\.qty\[0\]_range"),
                                (-(1 << 66) * 5 - (1 << 100), [5, 1 << 0, 0, 0], r"acct\[3\]\.cash_range")):
        assert (cash + sum(q << (66 + 34 * k) for k, q in enumerate(qty))) % R == 0  # the packed integer is 0
        bad = failing(sc, pad_slot(inputs, a, cash, qty))
        assert any(re.match(range_rx, n) for n in bad), bad
        assert not any(re.match(pad_rx, n) for n in bad)  # the zero test alone accepts: the range check refuses
    # value that cancels in equity and margin (E = 0, no loss) is still value in a padding slot
    q = 7
    mark0 = market.padded(4, 4).marks[0]
    inp = pad_slot(inputs, a, -q * mark0, [q, 0, 0, 0])
    rejected_at(sc, inp, None, r"acct\[3\]\.pad_cash\+pad_qty\[0\]")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cash=st.one_of(st.integers(-(1 << 64), (1 << 64) - 1), st.sampled_from([0, -(1 << 64), (1 << 64) - 1])),
       qty=st.lists(st.one_of(st.integers(-(1 << 32), (1 << 32) - 1), st.sampled_from([0, 0, -(1 << 32)])),
                    min_size=4, max_size=4))
def test_padding_slot_accepts_only_zero(sc: SolvencyCircuit, market: MarketData, cash: int, qty: list[int]) -> None:
    inputs = sc.inputs(CTX, BOOK, market)
    ok = satisfied(sc, pad_slot(inputs, 3, cash, qty))
    assert ok == (cash == 0 and not any(qty))


def test_padding_second_group_of_quantities() -> None:
    """K = 7: quantities 5 and 6 are tested in a second constraint; a padding slot holding only them fails."""
    cap = Capacity(accounts=2, instruments=7, scenarios=2)
    c = SolvencyCircuit(cap)
    names = c.circuit.compile().constraint_names
    assert "acct[1].pad_cash+pad_qty[0]+pad_qty[1]+pad_qty[2]+pad_qty[3]+pad_qty[4]" in names
    assert "acct[1].pad_qty[5]+pad_qty[6]" in names
    inputs: dict[str, Any] = {
        "chainId": 1, "blockNumber": 1, "blockHashHi": 0, "blockHashLo": 0, "marketCommitment": 0, "assets": 0,
        "liabilities": 0, "maintenanceMargin": 0, "badDebt": 0, "underMargined": 0, "root": 0, "round": 0,
        "mark": [10] * 7, **{f"risk_off[{k}]": [RISK_OFFSET] * 2 for k in range(7)},
        "real": [1, 0], "id": [4, 0], "salt": [9, 0], "cash_off": [CASH_OFFSET + 100, CASH_OFFSET],
        "qty_off[0]": [QTY_OFFSET] * 7, "qty_off[1]": [QTY_OFFSET] * 7,
    }
    assert satisfied(c, inputs)
    for k in (5, 6):
        bad = {**inputs, "qty_off[1]": [QTY_OFFSET + (1 if j == k else 0) for j in range(7)]}
        rejected_at(c, bad, None, r"acct\[1\]\.pad_qty\[5\]\+pad_qty\[6\]")


# --- no free wire: exhaustive one-wire tampering ---------------------------------------------------------------

def free_wires(r1cs: R1CS, w: Sequence[int], delta: int | None, seed: int = 1) -> list[int]:
    """Wires whose value can change alone (by +delta, or a random non-zero amount) with every constraint
    still satisfied. Only the constraints that mention the wire are re-evaluated."""
    by_wire: dict[int, list[int]] = defaultdict(list)
    for i, (a, b, c) in enumerate(r1cs.constraints):
        for k in {*a, *b, *c}:
            by_wire[k].append(i)
    rng = random.Random(seed)
    ww = list(w)

    def ok(i: int) -> bool:
        a, b, c = r1cs.constraints[i]
        va = sum(ww[k] * v for k, v in a.items())
        vb = sum(ww[k] * v for k, v in b.items())
        vc = sum(ww[k] * v for k, v in c.items())
        return (va * vb - vc) % R == 0

    free = []
    for wire in range(1, r1cs.n_wires):
        old = ww[wire]
        ww[wire] = (old + (delta if delta is not None else rng.randrange(1, R))) % R
        if all(ok(i) for i in by_wire.get(wire, [])):
            free.append(wire)
        ww[wire] = old
    return free


@pytest.mark.parametrize("which", ["partial", "full"])
def test_no_free_wire_in_the_solvency_circuit(sc: SolvencyCircuit, market: MarketData, which: str) -> None:
    """Every wire but one kind is pinned by its constraints: changing it alone breaks one. The exception is
    the sign bit of a zero equity (mag = 0): neg = 1 gives debt = 0, E = 0, owed = 0, the same leaf, totals
    and flag, so it proves the same statement (documented as benign, not a free value)."""
    book = BOOK if which == "partial" else generate_book(CTX.chain_id, CAP.accounts, seed=5)
    inputs = sc.inputs(CTX, book, market)
    w = sc.witness(inputs)
    r1cs = sc.circuit.compile()
    assert r1cs.is_satisfied(w)
    zero_eq = {sc.circuit.wire_index(f"acct[{a}].neg") for a in range(CAP.accounts)
               if val(sc, w, f"acct[{a}].mag") == 0}
    assert (which == "partial") == bool(zero_eq)
    for delta in (1, R - 1, None):
        free = set(free_wires(r1cs, w, delta))
        expected = zero_eq if delta == 1 else set()  # neg = 0 -> 1 is boolean; 0 -> -1 or random is not
        assert free == expected, [r1cs.wire_names[i] for i in sorted(free ^ expected)]
    # the benign case proves the same public values
    for wire in zero_eq:
        name = r1cs.wire_names[wire]
        w2 = sc.witness(inputs, overrides={name: 1})
        assert r1cs.is_satisfied(w2) and public_signals_of(w2) == public_signals_of(w)


INTERNAL = [n for n in SolvencyCircuit(CAP).circuit.signal_names()
            if n.startswith(("acct[", "tree.", "market.", "pub."))]


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.sampled_from(INTERNAL), data=st.data())
def test_random_cheating_prover_changes_nothing_it_can_prove(sc: SolvencyCircuit, market: MarketData, name: str,
                                                             data: st.DataObject) -> None:
    """A prover that sets one internal signal to any value, recomputes everything downstream from it and
    publishes the public values that witness implies: it is rejected, or it proves exactly the honest
    public values (the zero-equity sign bit)."""
    inputs = sc.inputs(CTX, BOOK, market)
    honest = sc.witness(inputs)
    old = val(sc, honest, name)
    new = data.draw(st.one_of(st.sampled_from([(old + 1) % R, (old - 1) % R, 0, 1, R - 1]), st.integers(0, R - 1)),
                    label="value")
    w = sc.witness(inputs, overrides={name: new})
    w = sc.witness({**inputs, **sc.implied_public(w)}, overrides={name: new})
    if sc.circuit.compile().is_satisfied(w):
        assert public_signals_of(w) == public_signals_of(honest), name


def small_inputs(c: SolvencyCircuit, seed: int) -> dict[str, Any]:
    """A real account with random small positions and market data plus a padding slot, at any 2-slot shape,
    with the public values its witness implies."""
    k_n, s_n = c.cap.instruments, c.cap.scenarios
    rng = random.Random(seed)
    inputs: dict[str, Any] = {
        "chainId": 1, "blockNumber": 1, "blockHashHi": 0, "blockHashLo": 0, "marketCommitment": 0, "assets": 0,
        "liabilities": 0, "maintenanceMargin": 0, "badDebt": 0, "underMargined": 0, "root": 0, "round": 0,
        "mark": [rng.randrange(1, 10**6) for _ in range(k_n)],
        **{f"risk_off[{k}]": [RISK_OFFSET + rng.randrange(-10**5, 10**5) for _ in range(s_n)] for k in range(k_n)},
        "real": [1, 0], "id": [4, 0], "salt": [9, 0],
        "cash_off": [CASH_OFFSET + rng.randrange(-10**9, 10**9), CASH_OFFSET],
        "qty_off[0]": [QTY_OFFSET + rng.randrange(-50, 50) for _ in range(k_n)], "qty_off[1]": [QTY_OFFSET] * k_n,
    }
    return {**inputs, **c.implied_public(c.witness(inputs))}


@pytest.mark.parametrize("cap", [(2, 1, 1), (2, 2, 2), (2, 3, 3), (2, 7, 2), (2, 16, 5)],
                         ids=lambda c: "x".join(map(str, c)))
def test_no_free_wire_in_other_shapes(cap: tuple[int, int, int]) -> None:
    """The exhaustive one-wire tampering at every pack layout and padding grouping: only the padding slot's
    zero-equity sign bit may flip."""
    c = SolvencyCircuit(Capacity(*cap))
    for seed in (1, 2):
        inputs = small_inputs(c, seed)
        w = c.witness(inputs)
        r1cs = c.circuit.compile()
        assert r1cs.is_satisfied(w)
        zero_eq = {c.circuit.wire_index(f"acct[{a}].neg") for a in range(2) if val(c, w, f"acct[{a}].mag") == 0}
        assert c.circuit.wire_index("acct[1].neg") in zero_eq
        for delta in (1, None):
            free = set(free_wires(r1cs, w, delta, seed))
            assert free == (zero_eq if delta == 1 else set()), [r1cs.wire_names[i] for i in free]


@pytest.mark.parametrize("cap", [(2, 1, 1), (2, 2, 2), (2, 3, 3), (2, 7, 2), (2, 16, 5), (4, 4, 4)],
                         ids=lambda c: "x".join(map(str, c)))
def test_no_unconstrained_signal_in_any_shape(cap: tuple[int, int, int]) -> None:
    """Every pack layout (a pack with only `under`, with equity alone, S mod 3 = 0, 1, 2), both padding groups
    and K = 16: the builder's unconstrained-signal check holds for the new gadgets at each shape."""
    c = SolvencyCircuit(Capacity(*cap)).circuit
    assert c.unconstrained_signals() == []


# --- 4. Poseidon: dense partial rounds, folded S-boxes ---------------------------------------------------------

def native_partial(t: int, w: Sequence[int]) -> tuple[list[int], list[int]]:
    """The S-box outputs of the partial rounds and the state after them, computed round by round from the
    constants (independently of the gadget's plan)."""
    p = params(t)
    half = p.n_rounds_f // 2
    state, xs = list(w), []
    for q in range(p.n_rounds_p):
        r = half + q
        state = [(s + p.c[r * t + i]) % R for i, s in enumerate(state)]
        state[0] = pow(state[0], 5, R)
        xs.append(state[0])
        state = [sum(m * s for m, s in zip(row, state)) % R for row in p.m]
    return xs, state


@pytest.mark.parametrize("t", range(2, MAX_INPUTS + 2))
def test_partial_plan_is_the_permutation(t: int) -> None:
    """The precomputed plan is a function of the constants only: at random states its rows give exactly the
    native S-box inputs and the final state."""
    inputs, final = _partial_plan(t)
    rng = random.Random(t)
    for _ in range(2):
        w = [rng.randrange(R) for _ in range(t)]
        xs, out = native_partial(t, w)
        basis = [*w, *xs, 1]
        p = params(t)
        for q, row in enumerate(inputs):
            x_in = sum(c * b for c, b in zip(row, basis)) % R
            assert pow(x_in, 5, R) == xs[q]
            # the S-box input of round q never uses a later S-box output
            assert not any(row[t + q:t + p.n_rounds_p])
        assert [sum(c * b for c, b in zip(row, basis)) % R for row in final] == out


def test_dense_gadget_matches_every_circomlibjs_vector() -> None:
    """Dense and default (materialized) forms, and the form with a constant first input that the market
    commitment's chunks use (round-0 S-boxes folded), against the committed circomlibjs vectors."""
    cases = json.loads((ROOT / "tests" / "vectors" / "poseidon.json").read_text())["vectors"]
    built: dict[tuple[int, int | None, bool], tuple[Circuit, Any]] = {}
    for case in cases:
        xs = [int(x) for x in case["inputs"]]
        n = len(xs)
        for mode in (DENSE, None):
            for const in (False, True):
                key = (n, mode, const)
                if const:  # a constant first input: its value is part of the circuit, so one build per case
                    c = Circuit(f"k{n}")
                    out = poseidon_hash(c, [xs[0], *c.private_inputs("x", n - 1)], name="h", max_terms=mode)
                    rest = xs[1:]
                else:
                    if key not in built:
                        c = Circuit(f"p{n}")
                        built[key] = (c, poseidon_hash(c, c.private_inputs("x", n), name="h", max_terms=mode))
                    c, out = built[key]
                    rest = xs
                w = c.witness({"x": rest} if rest else {})
                c.check(w)
                assert c.value(w, out) == int(case["output"]) == poseidon(xs), (n, mode, const)
    assert {n for n, _, _ in built} == set(range(1, MAX_INPUTS + 1))


@pytest.mark.skipif(shutil.which("node") is None or not (ROOT / "tools/node_modules/circomlibjs").exists(),
                    reason="needs node and tools/node_modules/circomlibjs")
def test_dense_gadget_equals_live_circomlibjs() -> None:
    """Fresh inputs (near r, near 2^253, small) hashed by the pinned circomlibjs itself."""
    rng = random.Random(20261126)
    edge = [0, 1, R - 1, R - 2, (1 << 253) - 1, (1 << 253), 1 << 64]
    cases = [[rng.choice(edge) if rng.random() < 0.5 else rng.randrange(R) for _ in range(n)] for n in (1, 4, 6, 16)]
    main = json.dumps((ROOT / "tools/node_modules/circomlibjs/main.js").as_uri())
    code = ("import { buildPoseidon } from %s; import { readFileSync } from 'fs';"
            "const cs = JSON.parse(readFileSync(0, 'utf8')); const p = await buildPoseidon();"
            "process.stdout.write(JSON.stringify(cs.map((i) => p.F.toObject(p(i.map(BigInt))).toString())));") % main
    stdin = json.dumps([[str(x) for x in c] for c in cases])
    proc = subprocess.run(["node", "--input-type=module", "-e", code], input=stdin, capture_output=True, text=True,
                          timeout=120, check=True)
    expected = [int(x) for x in json.loads(proc.stdout)]
    for xs, exp in zip(cases, expected):
        c = Circuit("live")
        out = poseidon_hash(c, c.private_inputs("x", len(xs)), name="h", max_terms=DENSE)
        w = c.witness({"x": xs})
        c.check(w)
        assert c.value(w, out) == exp


@pytest.mark.parametrize("n,const", [(4, False), (6, False), (2, True)])
def test_no_free_wire_in_a_dense_poseidon(n: int, const: bool) -> None:
    """Every S-box wire (x2, x4, x5, the folded last round) and the output of a dense hash, with and without a
    constant input (folded S-boxes), is pinned: changing any one alone breaks a constraint."""
    c = Circuit("p")
    xs: list[Any] = list(c.private_inputs("x", n - 1 if const else n))
    if const:
        xs.append(12345)
    poseidon_hash(c, xs, name="h", max_terms=DENSE)
    w = c.witness({"x": [R - 1 - i for i in range(n - 1 if const else n)]})
    r1cs = c.compile()
    assert r1cs.is_satisfied(w)
    for delta in (1, None):
        assert free_wires(r1cs, w, delta) == []


def test_poseidon_structure_does_not_depend_on_the_witness() -> None:
    """The gadget's constraints are built from the constants alone: two builds are identical, and their
    witnesses for different inputs both satisfy the one R1CS."""
    def build() -> tuple[Circuit, Any]:
        c = Circuit("p")
        return c, poseidon_hash(c, c.private_inputs("x", 4), name="h", max_terms=DENSE)

    (c1, o1), (c2, _) = build(), build()
    assert c1.compile().constraints == c2.compile().constraints
    for xs in ([0, 0, 0, 0], [R - 1, 1, 2, 3]):
        w = c1.witness({"x": xs})
        assert c2.compile().is_satisfied(w) and c1.value(w, o1) == poseidon(xs)
