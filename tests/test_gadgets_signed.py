"""Signed-value gadgets: sign, max(v, 0), max(-v, 0) without field wraparound; cheating rejected."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from relayer.errors import UnsatisfiedConstraint
from relayer.zk.circuit import Circuit, CircuitError
from relayer.zk.field import R
from relayer.zk.gadgets import is_negative, split_signed


def split_circuit(n: int) -> Circuit:
    c = Circuit()
    v = c.private_input("v")
    pos, neg, flag = split_signed(c, v, n, name="sp")
    c.output("pos", pos)
    c.output("neg", neg)
    c.output("is_neg", flag)
    assert c.unconstrained_signals() == []
    return c


def enc(v: int) -> int:
    return v % R


def test_split_signed_exhaustive_3_bits() -> None:
    c = split_circuit(3)
    r1cs = c.compile()
    for v in range(-12, 13):
        w = c.witness({"v": enc(v)})
        ok = -8 <= v < 8
        assert r1cs.is_satisfied(w) == ok, v
        if ok:
            assert w[1:4] == [max(v, 0), max(-v, 0), int(v < 0)]


def test_split_signed_rejects_cheating() -> None:
    c = split_circuit(8)
    # a negative value claimed non-negative by flipping the offset's top bit
    w = c.witness({"v": enc(-5)}, overrides={"sp.sign.offset.bits[8]": 1})
    with pytest.raises(UnsatisfiedConstraint, match="sp.sign.offset.recompose"):
        c.check(w)
    # pos forced to 0 for a positive value (hiding equity)
    w = c.witness({"v": 100}, overrides={"sp.pos": 0})
    with pytest.raises(UnsatisfiedConstraint, match="sp.pos:mul"):
        c.check(w)
    # out of range both ways
    for v in (256, -257, R // 2):
        with pytest.raises(UnsatisfiedConstraint, match="sp.sign.offset"):
            c.check(c.witness({"v": enc(v)}))


def test_is_negative_limits() -> None:
    c = Circuit()
    v = c.private_input("v")
    with pytest.raises(CircuitError, match="1..252"):
        is_negative(c, v, 253)
    flag = is_negative(c, v, 252, name="s")
    c.output("f", flag)
    for x, f in (((1 << 252) - 1, 0), (-(1 << 252), 1), (0, 0), (-1, 1)):
        w = c.witness({"v": enc(x)})
        c.check(w)
        assert w[1] == f
    with pytest.raises(UnsatisfiedConstraint):
        c.check(c.witness({"v": 1 << 252}))


SPLIT64 = split_circuit(64)


@settings(max_examples=50, deadline=None)
@given(v=st.integers(min_value=-(1 << 66), max_value=1 << 66))
def test_split_signed_property(v: int) -> None:
    w = SPLIT64.witness({"v": enc(v)})
    ok = -(1 << 64) <= v < (1 << 64)
    assert SPLIT64.compile().is_satisfied(w) == ok
    if ok:
        assert w[1:4] == [max(v, 0), max(-v, 0), int(v < 0)]
        # the opposite sign is never accepted
        assert not SPLIT64.compile().is_satisfied(SPLIT64.tamper(w, {"is_neg": 1 - w[3]}))
