"""Poseidon gadget options: the dense partial rounds (max_terms=DENSE, built from a precomputed plan), the
constant S-box folding and the last round folded into the output constraint. Outputs equal the native
hash; tampered S-box outputs and outputs are rejected."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from relayer.errors import UnsatisfiedConstraint
from relayer.zk.circuit import Circuit
from relayer.zk.field import R
from relayer.zk.gadgets import poseidon_hash
from relayer.zk.gadgets.poseidon import DENSE
from relayer.zk.poseidon import params, poseidon


def build(n: int, max_terms: int | None) -> tuple[Circuit, object]:
    c = Circuit(f"p{n}")
    xs = c.private_inputs("x", n)
    return c, poseidon_hash(c, xs, name="h", max_terms=max_terms)


@pytest.mark.parametrize("n", [1, 2, 3, 4, 6, 8, 16])
def test_dense_equals_native_and_costs_only_the_sboxes(n: int) -> None:
    c, out = build(n, DENSE)
    xs = [(i * 7919 + 3) ** 5 % R for i in range(n)]
    w = c.witness({"x": xs})
    c.check(w)
    assert c.value(w, out) == poseidon(xs)
    p = params(n + 1)
    sboxes = p.n_rounds_f * p.t + p.n_rounds_p - 1  # round 0's capacity word is a constant: folded
    # 3 per S-box, minus the last round's word-0 x^5 (folded into out:eq), plus out:eq
    assert c.n_constraints == 3 * sboxes - 1 + 1
    assert c.unconstrained_signals() == []
    # the default (materialized) form costs more constraints and gives the same hash
    c2, out2 = build(n, None)
    assert c2.n_constraints > c.n_constraints
    w2 = c2.witness({"x": xs})
    assert c2.value(w2, out2) == poseidon(xs)


@settings(max_examples=15, deadline=None)
@given(xs=st.lists(st.integers(0, R - 1), min_size=1, max_size=16))
def test_dense_property(xs: list[int]) -> None:
    c, out = build(len(xs), DENSE)
    w = c.witness({"x": xs})
    c.check(w)
    assert c.value(w, out) == poseidon(xs)


def test_dense_rejects_tampered_signals() -> None:
    c, out = build(4, DENSE)
    xs = [1, 2, 3, 4]
    w = c.witness({"x": xs})
    p = params(5)
    mid = p.n_rounds_f // 2 + 7  # a partial round
    for sig, rx in ((f"h.r{mid}.s0.x5", rf"h\.r{mid}\.s0\.x5:mul"), (f"h.r{mid}.s0.x2", rf"h\.r{mid}\.s0\.x2:mul"),
                    ("h.r0.s1.x5", r"h\.r0\.s1\.x5:mul"), ("h.out", r"h\.out:eq")):
        with pytest.raises(UnsatisfiedConstraint, match=rx):
            c.check(c.witness({"x": xs}, overrides={sig: c.value(w, sig) + 1}))
    # the last round's word-0 x^4 feeds the folded output constraint
    last = p.n_rounds_f + p.n_rounds_p - 1
    with pytest.raises(UnsatisfiedConstraint, match=rf"h\.r{last}\.s0\.x4:mul"):
        c.check(c.witness({"x": xs}, overrides={f"h.r{last}.s0.x4": 5}))
    with pytest.raises(UnsatisfiedConstraint, match=r"h\.out:eq"):
        # x4 consistent with a different x2 chain is still caught: change x4 and everything after it agrees
        # except the output, which the prover cannot also fix without breaking out:eq
        c.check(c.tamper(w, {"h.out": poseidon([1, 2, 3, 5])}))


def test_constant_inputs_fold() -> None:
    c = Circuit("k")
    x = c.private_input("x")
    out = poseidon_hash(c, [x, 7], name="h", max_terms=DENSE)
    w = c.witness({"x": 11})
    assert c.value(w, out) == poseidon([11, 7])
    p = params(3)
    # round 0: the capacity word and the constant input need no S-box constraints
    assert c.n_constraints == 3 * (p.n_rounds_f * p.t + p.n_rounds_p - 2) - 1 + 1
