"""Property tests of the gadgets (hypothesis): honest witnesses pass exactly when the statement is true,
and the opposite answer is never accepted."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from relayer.zk.circuit import Circuit
from relayer.zk.field import R
from relayer.zk.gadgets import is_zero, less_eq_than, less_than, merkle_sum_parent, num2bits, poseidon_hash, select
from relayer.zk.poseidon import poseidon

N = 64
felt = st.integers(min_value=0, max_value=R - 1)
small = st.integers(min_value=0, max_value=(1 << N) - 1)
# values around the interesting edges: small, just above 2^N, "negative" (close to r)
edgy = st.one_of(small, st.integers(min_value=1 << N, max_value=(1 << N) + 1000),
                 st.integers(min_value=R - 1000, max_value=R - 1), felt)


def _cmp_circuit(fn) -> Circuit:  # type: ignore[no-untyped-def]
    c = Circuit()
    a, b = c.private_input("a"), c.private_input("b")
    c.output("out", fn(c, a, b, N, name="cmp"))
    return c


LT = _cmp_circuit(less_than)
LE = _cmp_circuit(less_eq_than)


@settings(max_examples=60, deadline=None)
@given(a=edgy, b=edgy)
def test_comparators_property(a: int, b: int) -> None:
    for circ, truth in ((LT, a < b), (LE, a <= b)):
        r1cs = circ.compile()
        w = circ.witness({"a": a, "b": b})
        in_range = a < (1 << N) and b < (1 << N)
        assert r1cs.is_satisfied(w) == in_range
        if in_range:
            assert w[1] == int(truth)
            assert not r1cs.is_satisfied(circ.tamper(w, {"out": 1 - w[1]}))


N2B = Circuit()
_x = N2B.private_input("x")
N2B_BITS = num2bits(N2B, _x, N, name="nb")


@settings(max_examples=60, deadline=None)
@given(x=edgy, flip=st.integers(min_value=0, max_value=N - 1))
def test_num2bits_property(x: int, flip: int) -> None:
    r1cs = N2B.compile()
    w = N2B.witness({"x": x})
    assert r1cs.is_satisfied(w) == (x < (1 << N))
    if x < (1 << N):
        bit = N2B_BITS[flip]
        assert not r1cs.is_satisfied(N2B.tamper(w, {bit: 1 - N2B.value(w, bit)}))


SEL = Circuit()
_s, _a, _b = SEL.private_input("s"), SEL.private_input("a"), SEL.private_input("b")
SEL.output("out", select(SEL, _s, _a, _b, name="sel"))


@settings(max_examples=40, deadline=None)
@given(s=st.one_of(st.sampled_from([0, 1, 2, R - 1]), felt), a=felt, b=felt)
def test_select_property(s: int, a: int, b: int) -> None:
    w = SEL.witness({"s": s, "a": a, "b": b})
    assert SEL.compile().is_satisfied(w) == (s in (0, 1))
    if s in (0, 1):
        assert w[1] == (a if s else b)


ISZ = Circuit()
_z = ISZ.private_input("x")
ISZ.output("out", is_zero(ISZ, _z, name="iz"))


@settings(max_examples=40, deadline=None)
@given(x=st.one_of(st.just(0), felt), inv=felt)
def test_is_zero_property(x: int, inv: int) -> None:
    r1cs = ISZ.compile()
    w = ISZ.witness({"x": x})
    r1cs.check(w)
    assert w[1] == int(x == 0)
    # the wrong answer with any inverse the prover likes
    lie = 1 - w[1]
    assert not r1cs.is_satisfied(ISZ.witness({"x": x}, overrides={"iz.out": lie, "iz.inv": inv}))


MS = Circuit()
_ins = [MS.private_input(k) for k in ("lh", "ls", "rh", "rs")]
_h, _sum = merkle_sum_parent(MS, *_ins, n_bits=N, name="node")
MS.output("h", _h)
MS.output("sum", _sum)


@settings(max_examples=25, deadline=None)
@given(lh=felt, ls=edgy, rh=felt, rs=edgy)
def test_merkle_sum_parent_property(lh: int, ls: int, rh: int, rs: int) -> None:
    w = MS.witness({"lh": lh, "ls": ls, "rh": rh, "rs": rs})
    ok = ls < (1 << N) and rs < (1 << N) and ls + rs < (1 << N)
    assert MS.compile().is_satisfied(w) == ok
    if ok:
        assert w[1] == poseidon([lh, ls, rh, rs]) and w[2] == ls + rs


@settings(max_examples=10, deadline=None)
@given(xs=st.lists(felt, min_size=1, max_size=5))
def test_poseidon_gadget_property(xs: list[int]) -> None:
    c = Circuit()
    ins = c.private_inputs("x", len(xs))
    c.output("h", poseidon_hash(c, ins))
    w = c.witness({"x": xs})
    c.check(w)
    assert w[1] == poseidon(xs)
