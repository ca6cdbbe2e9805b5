"""Packed range checks (gadgets/packed.py) and the range check with a folded product (bits.range_check_product):
honest values pass, and every value out of range, every borrow between packed neighbours and every tampered
product or bit is rejected."""

from __future__ import annotations

from collections.abc import Mapping

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from relayer.errors import UnsatisfiedConstraint
from relayer.zk.circuit import Circuit, CircuitError
from relayer.zk.field import R
from relayer.zk.gadgets import PackedValue, pack_layout, packed_range_checks, range_check, range_check_product

BOUND = 20  # |value| < 2^20 promised by the caller's range checks below
N = 8  # each value proven in [0, 2^8)


def packed_circuit(n_values: int, zero_last: bool = False) -> tuple[Circuit, list[list]]:
    """values v_j = m + x_0 * y_{0j} + x_1 * y_{1j} with m, x, y range-checked small (so |v_j| < 2^BOUND)."""
    c = Circuit("packed")
    m = c.private_input("m")
    xs = c.private_inputs("x", 2)
    ys = [c.private_inputs(f"y[{k}]", n_values) for k in range(2)]
    range_check(c, m, N, name="m_range")
    for k in range(2):
        range_check(c, xs[k] + 8, 4, name=f"x[{k}]_range")  # x in [-8, 8)
        for j in range(n_values):
            range_check(c, ys[k][j] + 8, 4, name=f"y[{k}][{j}]_range")
    vals = [PackedValue(f"v[{j}]", 0 if (zero_last and j == n_values - 1) else N, m, [ys[0][j], ys[1][j]])
            for j in range(n_values)]
    bits = packed_range_checks(c, vals, xs, BOUND)
    return c, bits


def inputs_of(m: int, xs: list[int], ys: list[list[int]]) -> dict[str, object]:
    return {"m": m, "x": [x % R for x in xs], **{f"y[{k}]": [y % R for y in ys[k]] for k in range(2)}}


def check(c: Circuit, inputs: Mapping[str, object], overrides: Mapping[str, int] | None = None) -> None:
    c.check(c.witness(inputs, overrides=overrides))


def test_layout() -> None:
    assert pack_layout(BOUND) == (21, 12)  # 21 * 11 + 22 <= 253
    assert pack_layout(77) == (78, 3)  # the solvency circuit: 78 * 2 + 79 = 235 <= 253, 78 * 3 + 79 > 253
    for b in (0, 252):
        with pytest.raises(CircuitError, match="bound"):
            pack_layout(b)
    spacing, per = pack_layout(77)
    assert spacing * (per - 1) + 77 + 2 <= 253 < spacing * per + 77 + 2


def test_honest_values_pass_and_bits_are_the_values() -> None:
    c, bits = packed_circuit(14)  # two packs (12 + 2)
    ys = [[j % 8 for j in range(14)], [-(j % 5) for j in range(14)]]
    inp = inputs_of(100, [3, 2], ys)
    w = c.witness(inp)
    c.check(w)
    for j in range(14):
        v = 100 + 3 * ys[0][j] + 2 * ys[1][j]
        assert sum(c.value(w, b) << i for i, b in enumerate(bits[j])) == v
    # bits, plus per pack 2 factors = 2 constraints (one product folded into the recomposition)
    n_checks = sum(1 for k in c._constraints if k.name.startswith(("pack", "v[")))
    assert n_checks == 14 * N + 2 * 2
    assert c.unconstrained_signals() == []


def test_negative_value_rejected() -> None:
    c, _ = packed_circuit(3)
    # v_1 = 0 + 1*(-3) + 0 = -3 (a field negative, r - 3)
    with pytest.raises(UnsatisfiedConstraint, match=r"pack\[0\]:v\[0\]\+v\[1\]\+v\[2\]"):
        check(c, inputs_of(0, [1, 0], [[0, -3, 0], [0, 0, 0]]))


def test_value_at_or_past_its_bits_rejected() -> None:
    c, _ = packed_circuit(3)
    check(c, inputs_of(255, [0, 0], [[0] * 3, [0] * 3]))  # 2^8 - 1: the largest
    with pytest.raises(UnsatisfiedConstraint, match=r"pack\[0\]"):
        check(c, inputs_of(200, [7, 7], [[7, 0, 0], [1, 0, 0]]))  # v_0 = 200 + 49 + 7 = 256


def test_borrow_from_the_next_value_rejected() -> None:
    """v_0 = -1, v_1 = 5: with the values packed only N bits apart, bits (2^N - 1, 4) would recompose to
    the same sum (-1 + 5 * 2^N = (2^N - 1) + 4 * 2^N). The gadget spaces them BOUND + 1 bits apart."""
    c, _ = packed_circuit(2)
    spacing, _ = pack_layout(BOUND)
    inp = inputs_of(0, [1, 1], [[-1, 5], [0, 0]])
    ov = {f"v[0].bits[{i}]": 1 for i in range(N)}
    ov.update({f"v[1].bits[{i}]": (4 >> i) & 1 for i in range(N)})
    assert (2**N - 1) + 4 * 2**N == -1 + 5 * 2**N  # the borrow a naive packing accepts
    assert (2**N - 1) + 4 * 2**spacing != -1 + 5 * 2**spacing
    with pytest.raises(UnsatisfiedConstraint, match=r"pack\[0\]:v\[0\]\+v\[1\]"):
        check(c, inp, ov)


def test_tampered_product_and_bits_rejected() -> None:
    c, _ = packed_circuit(3)
    inp = inputs_of(9, [2, 3], [[1, 2, 3], [1, 1, 1]])
    check(c, inp)
    w = c.witness(inp)
    prod = c.value(w, "pack[0].prod[1]")
    with pytest.raises(UnsatisfiedConstraint, match=r"pack\[0\]\.prod\[1\]:mul"):
        check(c, inp, {"pack[0].prod[1]": prod + 1})
    with pytest.raises(UnsatisfiedConstraint, match=r"v\[1\]\.bits\[2\]:bool"):
        check(c, inp, {"v[1].bits[2]": 2})
    with pytest.raises(UnsatisfiedConstraint, match=r"pack\[0\]"):
        check(c, inp, {"v[1].bits[0]": 1 - c.value(w, "v[1].bits[0]")})


def test_zero_width_value_is_an_equality() -> None:
    c, bits = packed_circuit(3, zero_last=True)
    assert bits[2] == []
    check(c, inputs_of(0, [2, 1], [[0, 0, 3], [0, 0, -6]]))  # v_2 = 6 - 6 = 0
    with pytest.raises(UnsatisfiedConstraint, match=r"pack\[0\]"):
        check(c, inputs_of(0, [2, 1], [[0, 0, 3], [0, 0, -5]]))  # v_2 = 1
    with pytest.raises(UnsatisfiedConstraint, match=r"pack\[0\]"):
        check(c, inputs_of(1, [2, 1], [[0, 0, 3], [0, 0, -8]]))  # v_2 = 1 + 6 - 8 = -1


def test_parameter_errors() -> None:
    c = Circuit("bad")
    x = c.private_input("x")
    with pytest.raises(CircuitError, match="value bound"):
        packed_range_checks(c, [PackedValue("v", 21, x)], [], BOUND)
    with pytest.raises(CircuitError, match="coefficients"):
        packed_range_checks(c, [PackedValue("v", 4, x, [x, x])], [x], BOUND)


@settings(max_examples=40, deadline=None)
@given(m=st.integers(0, 255), xs=st.lists(st.integers(-8, 7), min_size=2, max_size=2),
       ys=st.lists(st.lists(st.integers(-8, 7), min_size=5, max_size=5), min_size=2, max_size=2))
def test_accepts_exactly_the_values_in_range(m: int, xs: list[int], ys: list[list[int]]) -> None:
    c, _ = CIRC5
    vals = [m + xs[0] * ys[0][j] + xs[1] * ys[1][j] for j in range(5)]
    ok = all(0 <= v < 2**N for v in vals)
    w = c.witness(inputs_of(m, xs, ys))
    assert c.compile().is_satisfied(w) == ok


CIRC5 = packed_circuit(5)


# --- range_check_product ----------------------------------------------------------------------------------

def product_circuit() -> Circuit:
    c = Circuit("rcp")
    a, b = c.private_input("a"), c.private_input("b")
    range_check_product(c, a, b, 16, name="p")
    return c


def test_range_check_product() -> None:
    c = product_circuit()
    assert c.n_constraints == 16 + 1
    check(c, {"a": 3, "b": 1000})
    check(c, {"a": 0, "b": R - 5})  # 0 * anything
    check(c, {"a": 1, "b": 2**16 - 1})
    with pytest.raises(UnsatisfiedConstraint, match=r"p\.recompose"):
        check(c, {"a": 1, "b": 2**16})
    with pytest.raises(UnsatisfiedConstraint, match=r"p\.recompose"):
        check(c, {"a": 1, "b": R - 1})  # -1 through field wraparound
    with pytest.raises(UnsatisfiedConstraint, match=r"p\.recompose"):
        check(c, {"a": R - 1, "b": 1})
    with pytest.raises(UnsatisfiedConstraint, match=r"p\.bits\[0\]:bool"):
        check(c, {"a": 1, "b": 2}, {"p.bits[0]": 2, "p.bits[1]": 0})
    with pytest.raises(CircuitError, match="bits"):
        range_check_product(Circuit(), 1, 1, 254)
