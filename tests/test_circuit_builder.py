"""The R1CS builder: wire order, linear combinations, witness hints, bad witnesses, named failures."""

from __future__ import annotations

import pytest

from relayer.errors import ProverError, UnsatisfiedConstraint
from relayer.zk.circuit import Circuit, CircuitError, LinearCombination
from relayer.zk.examples import make_bench_circuit
from relayer.zk.field import R


def small_circuit() -> tuple[Circuit, dict[str, int]]:
    # declared in a scrambled order on purpose: compile() must still lay out circom's order
    c = Circuit("small")
    x = c.private_input("x")
    y = c.public_input("y")
    z = c.mul(x, y, name="z")
    w = c.mul(z + 2, x - y, name="w")
    c.output("o", w * 3 + z)
    k = c.private_input("k")
    c.output("p", k - 1)
    return c, {"x": 3, "y": 5, "k": 10}


def test_wire_order_is_circom_order() -> None:
    c, inputs = small_circuit()
    r = c.compile()
    assert (r.n_pub_out, r.n_pub_in, r.n_prv_in) == (2, 1, 2)
    names = [r.wire_names[i] for i in range(r.n_wires)]
    assert names == ["one", "o", "p", "y", "x", "k", "z", "w"]
    w = c.witness(inputs)
    x, y, k = 3, 5, 10
    z = x * y
    ww = (z + 2) * (x - y) % R
    assert w == [1, (3 * ww + z) % R, k - 1, y, x, k, z, ww]
    assert r.public_signals(w) == [(3 * ww + z) % R, k - 1, y]
    r.check(w)
    assert c.wire_index("w") == 7 and c.value(w, "z") == 15


def test_constraint_names_and_first_failure_named() -> None:
    c, inputs = small_circuit()
    r = c.compile()
    assert r.constraint_names == ["z:mul", "w:mul", "o:out", "p:out"]
    bad = c.witness(inputs, overrides={"z": 16})
    # z is wrong, so the first constraint (z = x*y) is the one reported, even though later ones
    # were recomputed honestly from the bad z
    with pytest.raises(UnsatisfiedConstraint, match=r"z:mul \(index 0\)"):
        r.check(bad)
    tampered = c.tamper(c.witness(inputs), {"w": 1})
    with pytest.raises(UnsatisfiedConstraint, match=r"w:mul"):
        c.check(tampered)
    # tampering an output only breaks its own constraint
    tampered = c.tamper(c.witness(inputs), {"p": 8})
    with pytest.raises(UnsatisfiedConstraint, match=r"p:out"):
        c.check(tampered)


def test_overriding_an_input_is_seen_downstream() -> None:
    c, inputs = small_circuit()
    w = c.witness(inputs, overrides={"x": 4})
    # every hint recomputed from the overridden input: still a valid witness for x = 4
    c.check(w)
    assert c.value(w, "z") == 20


def test_linear_combination_arithmetic() -> None:
    c = Circuit()
    a = c.private_input("a")
    b = c.private_input("b")
    lc = 2 * a - b + 7 - (a * 3) + (-b) + 1
    assert isinstance(lc, LinearCombination)
    w = c.witness({"a": 5, "b": 11})
    assert c.value(w, lc) == (2 * 5 - 11 + 7 - 15 - 11 + 1) % R
    assert (a - a).terms == {}
    assert (a * 0).terms == {}
    assert (a * R).terms == {}  # coefficients live mod r
    assert (a + R + 1).terms == {a.id: 1, 0: 1}
    with pytest.raises(TypeError, match="Circuit.mul"):
        _ = a * b
    with pytest.raises(TypeError):
        _ = a + 1.5  # type: ignore[operator]


def test_raw_constraint_and_assert_equal() -> None:
    c = Circuit()
    a = c.private_input("a")
    b = c.public_input("b")
    sq = c.signal("sq", lambda ev: ev(a) * ev(a) % R)
    c.constrain(a, a, sq, name="square")
    c.assert_equal(sq, b, name="sq_is_b")
    r = c.compile()
    c.check(c.witness({"a": 9, "b": 81}))
    with pytest.raises(UnsatisfiedConstraint, match="sq_is_b"):
        r.check(c.witness({"a": 9, "b": 80}))
    with pytest.raises(UnsatisfiedConstraint, match="square"):
        r.check(c.witness({"a": 9, "b": 81}, overrides={"sq": 80}))


def test_constant_false_constraint_is_refused() -> None:
    c = Circuit()
    with pytest.raises(CircuitError, match="constant and false"):
        c.constrain(2, 3, 5)
    c.constrain(2, 3, 6)  # constant and true is harmless


def test_witness_input_errors() -> None:
    c, inputs = small_circuit()
    with pytest.raises(CircuitError, match="missing inputs.*k"):
        c.witness({"x": 1, "y": 2})
    with pytest.raises(CircuitError, match="did you mean 'x'"):
        c.witness({**inputs, "xx": 1})
    with pytest.raises(CircuitError, match="not an input"):
        c.witness({**inputs, "z": 1})  # internal signals are computed, not given
    with pytest.raises(CircuitError, match="outside the field"):
        c.witness({**inputs, "x": R})
    with pytest.raises(CircuitError, match="outside the field"):
        c.witness({**inputs, "x": -1})
    with pytest.raises(CircuitError, match="must be an int"):
        c.witness({**inputs, "x": True})
    with pytest.raises(CircuitError, match="no signal named"):
        c.witness(inputs, overrides={"nope": 1})
    assert issubclass(CircuitError, ProverError)


def test_duplicate_names_and_scopes() -> None:
    c = Circuit()
    c.private_input("a")
    with pytest.raises(CircuitError, match="already declared"):
        c.private_input("a")
    names = []
    for _ in range(3):
        with c.scope("g") as s:
            names.append(s)
            c.signal("v", lambda ev: 0)
    assert names == ["g", "g#1", "g#2"]
    assert c.signal_by_name("g#2.v").name == "g#2.v"


def test_array_inputs() -> None:
    c = Circuit()
    xs = c.private_inputs("xs", 3)
    pub = c.public_inputs("p", 2)
    c.output("s", xs[0] + xs[1] + xs[2] + pub[0] + pub[1])
    w = c.witness({"xs": [1, 2, 3], "p[0]": 4, "p[1]": 5})
    c.check(w)
    assert c.compile().public_signals(w) == [15, 4, 5]
    with pytest.raises(CircuitError, match="has 2 values"):
        c.witness({"xs": [1, 2], "p": [4, 5]})


def test_recompile_after_more_declarations() -> None:
    c = Circuit()
    a = c.private_input("a")
    c.mul(a, a, name="a2")
    assert c.compile().n_constraints == 1
    c.mul(a, 3, name="a3")
    assert c.compile().n_constraints == 2


@pytest.mark.parametrize("k", [1, 4, 6, 7, 10, 12])
def test_bench_circuit_has_exact_size_and_valid_witness(k: int) -> None:
    n = 1 << k
    circuit, inputs = make_bench_circuit(n)
    r = circuit.compile()
    assert r.n_constraints == n
    assert (r.n_pub_out, r.n_pub_in, r.n_prv_in) == (1, 2, 2)
    w = circuit.witness(inputs)
    r.check(w)
    if k >= 10:
        # a realistic witness: roughly half of the wires are bits
        small = sum(1 for v in w if v in (0, 1)) / len(w)
        assert 0.35 < small < 0.65
        # and the others are mostly full-size field elements
        assert sum(1 for v in w if v.bit_length() > 200) / len(w) > 0.3
    # tampering a bit is caught
    if k >= 7:
        bad = circuit.tamper(w, {"b0.bit3": 1 - circuit.value(w, "b0.bit3")})
        with pytest.raises(UnsatisfiedConstraint, match="b0:recompose"):
            r.check(bad)
        bad = circuit.tamper(w, {"b0.bit3": 2})
        with pytest.raises(UnsatisfiedConstraint, match="b0.bit3:bool"):
            r.check(bad)


def test_bench_circuit_rejects_tiny_size() -> None:
    with pytest.raises(CircuitError):
        make_bench_circuit(1)


def test_unconstrained_signals_are_reported() -> None:
    c = Circuit()
    a = c.private_input("a")
    c.private_input("forgotten")
    c.signal("floating", lambda ev: 1)
    c.mul(a, a, name="sq")
    assert c.unconstrained_signals() == ["forgotten", "floating"]
    bench, _ = make_bench_circuit(200)
    assert bench.unconstrained_signals() == []


def test_declared_outputs() -> None:
    c = Circuit()
    out = c.declare_output("out")
    a = c.public_input("a")
    b = c.private_input("b")
    with pytest.raises(CircuitError, match="never assigned.*out"):
        c.compile()
    c.assign_output(out, c.mul(a, b, name="ab") + 1)
    with pytest.raises(CircuitError, match="not a declared, unassigned output"):
        c.assign_output(out, a)
    r = c.compile()
    w = c.witness({"a": 6, "b": 7})
    r.check(w)
    assert w == [1, 43, 6, 7, 42]
    with pytest.raises(UnsatisfiedConstraint, match="out:out"):
        r.check(c.tamper(w, {"out": 44}))


def test_circuit_check_lists_the_signals_of_the_failing_constraint() -> None:
    c, inputs = small_circuit()
    bad = c.witness(inputs, overrides={"z": 16})
    with pytest.raises(UnsatisfiedConstraint, match=r"z:mul .*signals: y=5, x=3, z=16$"):
        c.check(bad)
    with pytest.raises(UnsatisfiedConstraint, match="has 3 values"):
        c.check([1, 2, 3])


# --- the checker never reduces witness values (the prover would refuse them) --------------------
def test_checker_rejects_values_outside_the_field_naming_the_wire() -> None:
    c, inputs = small_circuit()
    r = c.compile()
    w = c.witness(inputs)
    r.check(w)
    z_wire = c.wire_index("z")
    # x + r and a negative x satisfy every constraint mod r: the checker used to pass them
    for bad_value, why in ((w[z_wire] + R, "outside the field"), (w[z_wire] - R, "outside the field")):
        bad = list(w)
        bad[z_wire] = bad_value
        assert bad_value % R == w[z_wire] % R
        with pytest.raises(UnsatisfiedConstraint, match=rf"wire {z_wire} \(z\) is {bad_value}, {why}"):
            r.check(bad)
        assert not r.is_satisfied(bad)
        with pytest.raises(UnsatisfiedConstraint, match=rf"wire {z_wire} \(z\)"):
            c.check(bad)
    # a negative wire that is not a multiple of r off: −(r − k) ≡ k
    k_wire = c.wire_index("k")
    neg = list(w)
    neg[k_wire] = w[k_wire] - R
    with pytest.raises(UnsatisfiedConstraint, match=rf"wire {k_wire} \(k\) is -\d+, outside"):
        r.check(neg)
    # the constant wire: 1 + r is not 1
    one = list(w)
    one[0] = 1 + R
    with pytest.raises(UnsatisfiedConstraint, match=r"wire 0 \(one\)"):
        r.check(one)
    one[0] = 2
    with pytest.raises(UnsatisfiedConstraint, match=r"constant wire\) must be 1, got 2"):
        r.check(one)
    # public signals are read the same way: never reduced
    assert r.public_signals(w) == w[1 : 1 + r.n_public]
    pub = list(w)
    pub[1] += R
    with pytest.raises(UnsatisfiedConstraint, match=r"wire 1 \(o\)"):
        r.public_signals(pub)


def test_checker_rejects_values_that_are_not_ints() -> None:
    c, inputs = small_circuit()
    r = c.compile()
    w = c.witness(inputs)
    x_wire = c.wire_index("x")
    for junk in (float(w[x_wire]), str(w[x_wire]), None, True):
        bad = list(w)
        bad[x_wire] = junk
        with pytest.raises(UnsatisfiedConstraint, match=rf"wire {x_wire} \(x\) is {type(junk).__name__}"):
            r.check(bad)
    one = list(w)
    one[0] = True  # bool is an int subclass, but not a field element
    with pytest.raises(UnsatisfiedConstraint, match=r"wire 0 \(one\) is bool"):
        r.check(one)


def test_checker_and_prover_agree_on_out_of_range_witnesses() -> None:
    """What the checker passes the prover accepts, and what the prover refuses the checker refuses."""
    from relayer.zk.backends import get_backend
    from relayer.zk.groth16.prover import check_witness
    from relayer.zk.groth16.setup import dev_setup

    c, inputs = small_circuit()
    r = c.compile()
    pk = dev_setup(r, get_backend("cpu"))
    w = c.witness(inputs)
    check_witness(pk, w, r)
    bad = list(w)
    bad[c.wire_index("w")] += R
    with pytest.raises(UnsatisfiedConstraint):
        r.check(bad)
    with pytest.raises(UnsatisfiedConstraint):
        check_witness(pk, bad, r)


def test_checker_without_wire_names_says_the_index() -> None:
    from relayer.zk.r1cs import R1CS

    # one constraint x * x = y, wires [1, y, x], no names (as read from a bare .r1cs)
    r = R1CS(n_wires=3, n_pub_out=1, n_pub_in=0, n_prv_in=1, constraints=[({2: 1}, {2: 1}, {1: 1})])
    r.check([1, 9, 3])
    with pytest.raises(UnsatisfiedConstraint, match=r"wire 2 is -3, outside the field"):
        r.check([1, 9, -3])
    with pytest.raises(UnsatisfiedConstraint, match=r"wire 1 is \d+, outside the field"):
        r.check([1, 9 + R, 3])
    with pytest.raises(UnsatisfiedConstraint, match=r"index 0"):
        r.check([1, 10, 3])
    with pytest.raises(UnsatisfiedConstraint, match=r"2 values, circuit has 3 wires"):
        r.check([1, 9])


def test_circuit_check_reports_a_range_error_with_its_own_context_only() -> None:
    """A witness with an out-of-range value AND a separately broken constraint: the range error is
    the first problem, so the message names that wire and must not tack on the signals of the
    unrelated broken constraint (it used to append `; signals: k=..., p=...`)."""
    c, inputs = small_circuit()
    r = c.compile()
    w = c.witness(inputs)
    z_wire, p_wire = c.wire_index("z"), c.wire_index("p")
    bad = list(w)
    bad[z_wire] += R  # out of range, yet every constraint still holds mod r
    bad[p_wire] += 1  # breaks the constraint that defines p, which does not involve z
    with pytest.raises(UnsatisfiedConstraint) as exc:
        c.check(bad)
    msg = str(exc.value)
    assert rf"wire {z_wire} (z) is {bad[z_wire]}, outside the field" in msg
    assert "signals:" not in msg and "p=" not in msg
    # the same message as the R1CS checker: one problem, one context
    with pytest.raises(UnsatisfiedConstraint) as exc_r:
        r.check(bad)
    assert str(exc_r.value) == msg
    # with the range error fixed, the broken constraint is reported with its own signals
    bad[z_wire] = w[z_wire]
    with pytest.raises(UnsatisfiedConstraint, match=rf"p:.*signals: .*p={bad[p_wire]}"):
        c.check(bad)
    # a wrong constant wire or a bad type is also reported alone
    for k, junk in ((0, 2), (c.wire_index("x"), "3")):
        bad2 = list(w)
        bad2[p_wire] += 1
        bad2[k] = junk
        with pytest.raises(UnsatisfiedConstraint) as exc2:
            c.check(bad2)
        assert "signals:" not in str(exc2.value)
