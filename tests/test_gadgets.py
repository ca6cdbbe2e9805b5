"""Gadgets: each with honest witnesses that pass and cheating witnesses that must be rejected."""

from __future__ import annotations

import itertools
import random
from collections.abc import Mapping

import pytest

from relayer.errors import UnsatisfiedConstraint
from relayer.zk.circuit import Circuit, CircuitError, Signal
from relayer.zk.field import R
from relayer.zk.gadgets import (
    assert_bool,
    greater_eq_than,
    greater_than,
    is_equal,
    is_zero,
    less_eq_than,
    less_than,
    merkle_sum_parent,
    num2bits,
    range_check,
    select,
)
from relayer.zk.poseidon import poseidon


def rejected(c: Circuit, inputs: Mapping[str, object], overrides: Mapping[Signal | str, int] | None = None,
             match: str | None = None) -> None:
    w = c.witness(inputs, overrides=overrides)
    with pytest.raises(UnsatisfiedConstraint, match=match):
        c.check(w)


def accepted(c: Circuit, inputs: Mapping[str, object], overrides: Mapping[Signal | str, int] | None = None) -> list[int]:
    w = c.witness(inputs, overrides=overrides)
    c.check(w)
    # every signal of a gadget is pinned by some constraint
    assert c.unconstrained_signals() == []
    return w


# --- assert_bool ---------------------------------------------------------------------------------

def test_assert_bool() -> None:
    c = Circuit()
    x = c.private_input("x")
    assert_bool(c, x, name="x_bool")
    for v in (0, 1):
        accepted(c, {"x": v})
    for v in (2, R - 1, (R + 1) // 2):  # (r+1)/2 is 1/2: x(x-1) = -1/4, not 0
        rejected(c, {"x": v}, match="x_bool")


# --- num2bits / range check ------------------------------------------------------------------------

def n2b_circuit(n: int) -> tuple[Circuit, list[Signal]]:
    c = Circuit()
    x = c.private_input("x")
    bits = num2bits(c, x, n, name="nb")
    c.output("low", bits[0])
    return c, bits


@pytest.mark.parametrize("n", [1, 8, 64, 252, 253])
def test_num2bits_valid(n: int) -> None:
    c, bits = n2b_circuit(n)
    rng = random.Random(n)
    for x in {0, 1, (1 << n) - 1, rng.randrange(1 << n)}:
        w = accepted(c, {"x": x})
        assert [c.value(w, b) for b in bits] == [(x >> i) & 1 for i in range(n)]
    assert c.compile().n_constraints == n + 1 + 1


@pytest.mark.parametrize("n", [1, 8, 64, 252, 253])
def test_num2bits_rejects_values_out_of_range(n: int) -> None:
    c, _ = n2b_circuit(n)
    cases = {1 << n, (1 << n) + 1, R - 1, R - (1 << n)}
    for x in (v for v in cases if (1 << n) <= v < R):  # R - 2^253 is itself below 2^253
        rejected(c, {"x": x}, match="nb.recompose")


def test_num2bits_rejects_non_boolean_bit_that_recomposes() -> None:
    c, _ = n2b_circuit(3)
    # 4 = 0*1 + 2*2 + 0*4: recomposes, but bit 1 is not a bit
    rejected(c, {"x": 4}, overrides={"nb.bits[1]": 2, "nb.bits[2]": 0}, match=r"nb.bits\[1\]:bool")
    # 7 = 1 + 2 + 4 can also be written with a "bit" r - 1 (= -1) and a carry: -1 + 0 + 8?  No:
    # only three bits exist; try x = 3 as (-1) + 0*2 + 1*4 -> bit 0 = r - 1
    rejected(c, {"x": 3}, overrides={"nb.bits[0]": R - 1, "nb.bits[1]": 0, "nb.bits[2]": 1},
             match=r"nb.bits\[0\]:bool")


def test_num2bits_rejects_bits_that_do_not_recompose() -> None:
    c, _ = n2b_circuit(8)
    rejected(c, {"x": 0b10110}, overrides={"nb.bits[0]": 1}, match="nb.recompose")
    rejected(c, {"x": 0b10110}, overrides={"nb.bits[4]": 0}, match="nb.recompose")


def test_num2bits_exhaustive_small() -> None:
    """n = 3: over x in [0, 16) and every bit triple from {0, 1, 2, r-1}, exactly the honest
    decomposition of x < 8 is accepted."""
    c, bits = n2b_circuit(3)
    r1cs = c.compile()
    for x in range(16):
        honest = c.witness({"x": x})
        for triple in itertools.product([0, 1, 2, R - 1], repeat=3):
            w = c.tamper(honest, {b: v for b, v in zip(bits, triple)})
            w = c.tamper(w, {"low": triple[0]})  # keep the output consistent with bit 0
            ok = x < 8 and list(triple) == [(x >> i) & 1 for i in range(3)]
            assert r1cs.is_satisfied(w) == ok, (x, triple)


def test_num2bits_width_limits() -> None:
    c = Circuit()
    x = c.private_input("x")
    with pytest.raises(CircuitError, match="1..253"):
        num2bits(c, x, 254)
    with pytest.raises(CircuitError):
        num2bits(c, x, 0)


def test_range_check() -> None:
    c = Circuit()
    x = c.private_input("x")
    range_check(c, x, 64, name="x64")
    accepted(c, {"x": (1 << 64) - 1})
    rejected(c, {"x": 1 << 64}, match="x64.recompose")
    rejected(c, {"x": R - 1}, match="x64.recompose")  # -1 is not a small number


# --- is_zero / is_equal ----------------------------------------------------------------------------

def test_is_zero() -> None:
    c = Circuit()
    x = c.private_input("x")
    out = is_zero(c, x, name="iz")
    c.output("out", out)
    for v, expect in ((0, 1), (1, 0), (5, 0), (R - 1, 0)):
        w = accepted(c, {"x": v})
        assert c.value(w, out) == expect
    # claim "zero" for a non-zero x: whatever inverse the prover picks, x * out = 0 fails
    for inv in (0, 1, pow(5, R - 2, R)):
        rejected(c, {"x": 5}, overrides={"iz.out": 1, "iz.inv": inv}, match="iz")
    # claim "non-zero" for x = 0: 0 * inv = 1 - 0 is impossible
    for inv in (0, 1, 12345):
        rejected(c, {"x": 0}, overrides={"iz.out": 0, "iz.inv": inv}, match="iz.inv")
    # a non-boolean out is impossible too
    rejected(c, {"x": 0}, overrides={"iz.out": 2}, match="iz.inv")


def test_is_equal() -> None:
    c = Circuit()
    a, b = c.private_input("a"), c.private_input("b")
    eq = is_equal(c, a, b, name="eq")
    c.output("out", eq)
    assert c.value(accepted(c, {"a": 7, "b": 7}), eq) == 1
    assert c.value(accepted(c, {"a": 7, "b": 8}), eq) == 0
    assert c.value(accepted(c, {"a": 0, "b": R - 1}), eq) == 0
    rejected(c, {"a": 7, "b": 8}, overrides={"eq.out": 1}, match="eq")
    rejected(c, {"a": 7, "b": 7}, overrides={"eq.out": 0}, match="eq.inv")


# --- comparators -------------------------------------------------------------------------------------

def cmp_circuit(kind: str, n: int, inputs_checked: bool = False) -> Circuit:
    c = Circuit()
    a, b = c.private_input("a"), c.private_input("b")
    fn = {"lt": less_than, "le": less_eq_than, "gt": greater_than, "ge": greater_eq_than}[kind]
    c.output("out", fn(c, a, b, n, name="cmp", inputs_checked=inputs_checked))
    return c


_PY = {"lt": lambda a, b: a < b, "le": lambda a, b: a <= b, "gt": lambda a, b: a > b, "ge": lambda a, b: a >= b}


@pytest.mark.parametrize("kind", ["lt", "le", "gt", "ge"])
def test_comparators_exhaustive_4_bits(kind: str) -> None:
    c = cmp_circuit(kind, 4)
    r1cs = c.compile()
    out_wire = 1
    for a in range(16):
        for b in range(16):
            w = c.witness({"a": a, "b": b})
            r1cs.check(w)
            assert w[out_wire] == int(_PY[kind](a, b)), (kind, a, b)
            # the opposite answer is never accepted
            assert not r1cs.is_satisfied(c.tamper(w, {"out": 1 - w[out_wire]}))


@pytest.mark.parametrize("kind", ["lt", "le", "gt", "ge"])
def test_comparators_reject_out_of_range_and_wraparound(kind: str) -> None:
    n = 8
    c = cmp_circuit(kind, n)
    for a, b in ((R - 1, 5), (5, R - 1), (1 << n, 0), (0, 1 << n), (R - (1 << n), 3)):
        rejected(c, {"a": a, "b": b}, match=r"cmp\..*range.*recompose")


def test_less_than_without_range_checks_is_fooled_by_wraparound() -> None:
    """Why the range checks are on by default: unchecked, -1 (= r - 1) 'is less than' 5."""
    c = cmp_circuit("lt", 8, inputs_checked=True)
    w = accepted(c, {"a": R - 1, "b": 5})
    assert w[1] == 1
    c = cmp_circuit("lt", 8)
    rejected(c, {"a": R - 1, "b": 5}, match=r"cmp.a_range")


def test_less_than_cannot_flip_sign_bit() -> None:
    c = cmp_circuit("lt", 8)
    # a >= b, prover tries to claim a < b by clearing the top bit of a + 2^n - b
    rejected(c, {"a": 200, "b": 100}, overrides={"cmp.diff.bits[8]": 0}, match="cmp.diff.recompose")
    # a < b, prover sets the top bit
    rejected(c, {"a": 100, "b": 200}, overrides={"cmp.diff.bits[8]": 1}, match="cmp.diff.recompose")


@pytest.mark.parametrize("kind", ["lt", "le"])
def test_comparators_at_252_bits(kind: str) -> None:
    c = cmp_circuit(kind, 252)
    top = (1 << 252) - 1
    for a, b in ((top, 0), (0, top), (top, top), (top - 1, top)):
        w = accepted(c, {"a": a, "b": b})
        assert w[1] == int(_PY[kind](a, b))
    rejected(c, {"a": 1 << 252, "b": 0})
    with pytest.raises(CircuitError, match="1..252"):
        cmp_circuit(kind, 253)


# --- select ------------------------------------------------------------------------------------------

def test_select() -> None:
    c = Circuit()
    s, a, b = c.private_input("s"), c.private_input("a"), c.private_input("b")
    c.output("out", select(c, s, a, b, name="sel"))
    assert accepted(c, {"s": 1, "a": 10, "b": 20})[1] == 10
    assert accepted(c, {"s": 0, "a": 10, "b": 20})[1] == 20
    # sel = 2 would give 2a - b: a value that is neither input
    rejected(c, {"s": 2, "a": 10, "b": 20}, match="sel.sel:bool")
    rejected(c, {"s": R - 1, "a": 10, "b": 20}, match="sel.sel:bool")
    # the product cannot be faked
    rejected(c, {"s": 1, "a": 10, "b": 20}, overrides={"sel.t": 0}, match="sel.t:mul")


# --- Merkle-sum parent -------------------------------------------------------------------------------

def msum_circuit(n_bits: int = 64) -> Circuit:
    c = Circuit()
    lh, ls, rh, rs = (c.private_input(k) for k in ("lh", "ls", "rh", "rs"))
    h, s = merkle_sum_parent(c, lh, ls, rh, rs, n_bits=n_bits, name="node")
    c.output("hash", h)
    c.output("sum", s)
    return c


def test_merkle_sum_parent_valid() -> None:
    c = msum_circuit()
    inputs = {"lh": 111, "ls": 1000, "rh": R - 7, "rs": (1 << 63) - 1}
    w = accepted(c, inputs)
    assert w[1] == poseidon([111, 1000, R - 7, (1 << 63) - 1])
    assert w[2] == 1000 + (1 << 63) - 1


def test_merkle_sum_parent_rejects_max_instead_of_sum() -> None:
    c = msum_circuit()
    inputs = {"lh": 1, "ls": 500, "rh": 2, "rs": 700}
    rejected(c, inputs, overrides={"node.sum": 700}, match="node.sum:eq")


def test_merkle_sum_parent_rejects_swapped_children() -> None:
    c = msum_circuit()
    inputs = {"lh": 1, "ls": 500, "rh": 2, "rs": 700}
    swapped = poseidon([2, 700, 1, 500])
    rejected(c, inputs, overrides={"node.hash.out": swapped}, match="node.hash.out:eq")
    # a hash that ignores the sums (only the child hashes) is rejected as well
    rejected(c, inputs, overrides={"node.hash.out": poseidon([1, 2])}, match="node.hash.out:eq")


def test_merkle_sum_parent_rejects_overflow_and_negative_sums() -> None:
    c = msum_circuit(n_bits=64)
    rejected(c, {"lh": 1, "ls": (1 << 64) - 1, "rh": 2, "rs": 1}, match="node.sum_range")
    rejected(c, {"lh": 1, "ls": 1 << 64, "rh": 2, "rs": 0}, match="node.left_sum_range")
    # a negative child (r - 5) that would cancel against the other: 10 + (-5) = 5
    rejected(c, {"lh": 1, "ls": 10, "rh": 2, "rs": R - 5}, match="node.right_sum_range")


def test_merkle_sum_tree_root_binds_every_leaf() -> None:
    """A 4-leaf tree with a public root: the honest root passes; swapping two leaves or moving value
    between them gives a different root, which the circuit rejects."""

    def tree(hashes: list[int], sums: list[int]) -> tuple[int, int]:
        lvl = list(zip(hashes, sums))
        while len(lvl) > 1:
            lvl = [(poseidon([a[0], a[1], b[0], b[1]]), a[1] + b[1]) for a, b in zip(lvl[::2], lvl[1::2])]
        return lvl[0]

    c = Circuit()
    root = c.public_input("root")
    total = c.public_input("total")
    hs = c.private_inputs("h", 4)
    ss = c.private_inputs("s", 4)
    n1 = merkle_sum_parent(c, hs[0], ss[0], hs[1], ss[1], n_bits=32, name="n1")
    n2 = merkle_sum_parent(c, hs[2], ss[2], hs[3], ss[3], n_bits=32, name="n2")
    top = merkle_sum_parent(c, n1[0], n1[1], n2[0], n2[1], n_bits=32, name="top", children_checked=True)
    c.assert_equal(top[0], root, name="root")
    c.assert_equal(top[1], total, name="total")
    hashes, sums = [11, 22, 33, 44], [5, 0, 7, 1000]
    rt, tt = tree(hashes, sums)
    accepted(c, {"root": rt, "total": tt, "h": hashes, "s": sums})
    # the prover's book has leaves 0 and 1 swapped: the public root no longer matches
    rejected(c, {"root": rt, "total": tt, "h": [22, 11, 33, 44], "s": [0, 5, 7, 1000]}, match="root")
    # moving value between accounts keeps the total but changes the root
    rejected(c, {"root": rt, "total": tt, "h": hashes, "s": [6, 0, 6, 1000]}, match="root")
    # understating one account changes the total
    rejected(c, {"root": tree(hashes, [5, 0, 7, 999])[0], "total": tt, "h": hashes, "s": [5, 0, 7, 999]},
             match="total")
