"""Poseidon: native function and circuit gadget against circomlibjs vectors (tests/vectors/poseidon.json)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from relayer.errors import ProverError, UnsatisfiedConstraint
from relayer.zk.circuit import Circuit, CircuitError
from relayer.zk.field import R
from relayer.zk.gadgets import poseidon_hash, poseidon_hash_many
from relayer.zk.poseidon import MAX_INPUTS, params, poseidon, poseidon_many

ROOT = Path(__file__).resolve().parent.parent
VECTORS = json.loads((ROOT / "tests" / "vectors" / "poseidon.json").read_text())["vectors"]
CASES = [([int(x) for x in v["inputs"]], int(v["output"])) for v in VECTORS]


def test_known_vector() -> None:
    # circomlibjs README / test: poseidon([1, 2])
    assert poseidon([1, 2]) == 0x115CC0F5E7D690413DF64C6B9662E9CF2A3617F2743245519E19607A4417189A


def test_vectors_cover_arities_and_edges() -> None:
    arities = {len(i) for i, _ in CASES}
    assert set(range(1, 6)) <= arities
    flat = {x for i, _ in CASES for x in i}
    assert {0, R - 1} <= flat


@pytest.mark.parametrize("inputs,expected", CASES, ids=[f"n{len(i)}-{k}" for k, (i, _) in enumerate(CASES)])
def test_native_matches_circomlibjs(inputs: list[int], expected: int) -> None:
    assert poseidon(inputs) == expected


def test_parameters_shape() -> None:
    rp = [56, 57, 56, 60, 60, 63, 64, 63, 60, 66, 60, 65, 70, 60, 64, 68]
    for t in range(2, MAX_INPUTS + 2):
        p = params(t)
        assert p.n_rounds_f == 8 and p.n_rounds_p == rp[t - 2]
        assert len(p.c) == t * (8 + p.n_rounds_p) and len(p.m) == t
        assert all(0 <= x < R for x in p.c)


def test_native_rejects_bad_inputs() -> None:
    with pytest.raises(ProverError, match="1..16"):
        poseidon([])
    with pytest.raises(ProverError, match="1..16"):
        poseidon(list(range(17)))
    with pytest.raises(ProverError, match=r"\[0, r\)"):
        poseidon([R])
    with pytest.raises(ProverError, match=r"\[0, r\)"):
        poseidon([-1])
    with pytest.raises(ProverError):
        params(18)


GADGET_CASES = [(i, o) for i, o in CASES if len(i) <= 6]


@pytest.mark.parametrize("inputs,expected", GADGET_CASES, ids=[f"n{len(i)}-{k}" for k, (i, _) in enumerate(GADGET_CASES)])
def test_gadget_matches_vectors(inputs: list[int], expected: int) -> None:
    c = Circuit()
    xs = c.private_inputs("x", len(inputs))
    c.output("h", poseidon_hash(c, xs, name="p"))
    w = c.witness({"x": inputs})
    c.check(w)
    assert w[1] == expected


def test_gadget_on_linear_combination_inputs_and_size() -> None:
    c = Circuit()
    a, b = c.private_input("a"), c.private_input("b")
    h = poseidon_hash(c, [a + b, 3 * a + 7], name="p")
    c.output("h", h)
    w = c.witness({"a": 5, "b": R - 2})
    c.check(w)
    assert w[1] == poseidon([3, 22])
    # 8 full rounds x 3 words x 3 + 57 partial x 3, plus a few materializations: circom's is 240
    assert 240 <= c.n_constraints <= 270


def test_gadget_rejects_wrong_output_and_sbox() -> None:
    c = Circuit()
    xs = c.private_inputs("x", 2)
    c.output("h", poseidon_hash(c, xs, name="p"))
    inputs = {"x": [1, 2]}
    w = c.witness(inputs)
    c.check(w)
    with pytest.raises(UnsatisfiedConstraint, match="h:out"):
        c.check(c.tamper(w, {"h": w[1] + 1}))
    with pytest.raises(UnsatisfiedConstraint, match="p.out:eq"):
        c.check(c.witness(inputs, overrides={"p.out": 42}))
    # an S-box output changed in the middle of the permutation, everything after recomputed
    with pytest.raises(UnsatisfiedConstraint, match=r"p.r30.s0.x5:mul"):
        c.check(c.witness(inputs, overrides={"p.r30.s0.x5": 7}))
    with pytest.raises(CircuitError):
        poseidon_hash(c, [])


def test_vectors_file_is_up_to_date() -> None:
    """The committed constants and vectors are what the pinned circomlibjs produces."""
    if not (ROOT / "tools" / "node_modules" / "circomlibjs").exists():
        pytest.fail("tools/node_modules not installed: run scripts/bootstrap (the test command does)")
    proc = subprocess.run([str(ROOT / "scripts" / "gen-vectors-poseidon"), "--check"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_poseidon_many_layout() -> None:
    assert poseidon_many([]) == poseidon([0])
    assert poseidon_many([7, 8]) == poseidon([2, 7, 8])
    xs = list(range(100, 140))  # 40 values: 15 + 15 + 10
    h = poseidon([40, *xs[:15]])
    h = poseidon([h, *xs[15:30]])
    assert poseidon_many(xs) == poseidon([h, *xs[30:]])
    # lists of different lengths never share a chain: [P(len, ...), tail] is not a prefix trick
    first = poseidon([17, *range(15)])
    assert poseidon_many(list(range(17))) != poseidon_many([first, 15, 16])


@pytest.mark.parametrize("n", [0, 1, 15, 16, 31])
def test_poseidon_many_gadget(n: int) -> None:
    xs = [(i * 0x9E3779B97F4A7C15) % R for i in range(n)]
    c = Circuit()
    ins = c.private_inputs("x", n)
    c.output("h", poseidon_hash_many(c, ins, name="pm"))
    w = c.witness({"x": xs})
    c.check(w)
    assert w[1] == poseidon_many(xs)
    if n:
        # changing any one input changes the hash: a stale output is rejected
        bad = c.witness({"x": [xs[0] ^ 1, *xs[1:]]}, overrides={"pm.h0.out": c.value(w, "pm.h0.out")})
        with pytest.raises(UnsatisfiedConstraint, match="pm.h0.out:eq"):
            c.check(bad)
