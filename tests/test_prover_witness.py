"""The prover's witness intake: one conversion to limbs with a vectorised range check (prover.witness_limbs).

Every value must be an exact integer in [0, r) and witness[0] must be 1; each rejection names the value.
Valid witnesses give the same limbs as the plain conversion, from ints, numpy integers or a limb array.
"""

from __future__ import annotations

import numpy as np
import pytest

from relayer.errors import UnsatisfiedConstraint
from relayer.zk.backends import get_backend
from relayer.zk.circuit import Circuit
from relayer.zk.field import R, ints_to_limbs
from relayer.zk.groth16.prover import check_witness, prove, witness_limbs
from relayer.zk.groth16.setup import dev_setup
from relayer.zk.groth16.verifier import verify


@pytest.fixture(scope="module")
def circuit() -> Circuit:
    c = Circuit("wit")
    x = c.public_input("x")
    y = c.private_input("y")
    t = c.mul(x, y, "t")
    c.output("out", c.mul(t, t, "u") + y)
    return c


@pytest.fixture(scope="module")
def pk(circuit: Circuit):  # type: ignore[no-untyped-def]
    return dev_setup(circuit.compile(), "reference")


@pytest.fixture(scope="module")
def wit(circuit: Circuit) -> list[int]:
    return circuit.witness({"x": 3, "y": R - 2})


def test_valid_witness_gives_the_plain_limbs(pk, wit) -> None:  # type: ignore[no-untyped-def]
    w = witness_limbs(pk, wit)
    assert np.array_equal(w, ints_to_limbs(wit))
    assert w.dtype == np.uint64 and w.flags["C_CONTIGUOUS"] and w.flags["WRITEABLE"]
    assert np.array_equal(witness_limbs(pk, [np.uint64(x) if x < 1 << 63 else x for x in wit]), w)  # numpy ints
    assert np.array_equal(witness_limbs(pk, w), w)  # a limb array is taken as it is


@pytest.mark.parametrize(
    ("pos", "value", "match"),
    [
        (2, R, "value 2 is not an integer in \\[0, r\\)"),
        (2, R + 5, "value 2 is not"),
        (3, (1 << 256) - 1, "value 3 is not"),
        (3, 1 << 256, "value 3 is not"),
        (2, -1, "value 2 is not .*int -1"),
        (2, 2.0, "value 2 is not .*float"),
        (1, True, "value 1 is not .*bool"),
        (2, "5", "value 2 is not .*str"),
        (2, None, "value 2 is not .*NoneType"),
    ],
)
def test_values_outside_the_field_or_not_ints_are_refused(pk, wit, pos, value, match) -> None:  # type: ignore[no-untyped-def]
    bad = list(wit)
    bad[pos] = value
    with pytest.raises(UnsatisfiedConstraint, match=match):
        witness_limbs(pk, bad)
    with pytest.raises(UnsatisfiedConstraint, match=match):
        check_witness(pk, bad)


def test_the_first_bad_value_is_named(pk, wit) -> None:  # type: ignore[no-untyped-def]
    bad = list(wit)
    bad[4], bad[2] = R + 1, R
    with pytest.raises(UnsatisfiedConstraint, match="value 2 "):
        witness_limbs(pk, bad)


def test_length_constant_wire_and_array_shape_are_checked(pk, wit) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(UnsatisfiedConstraint, match="values, the key expects"):
        witness_limbs(pk, wit[:-1])
    with pytest.raises(UnsatisfiedConstraint, match="constant wire"):
        witness_limbs(pk, [0, *wit[1:]])
    with pytest.raises(UnsatisfiedConstraint, match="constant wire"):
        witness_limbs(pk, [1 + (1 << 64), *wit[1:]])  # low limb 1, a higher limb set
    with pytest.raises(UnsatisfiedConstraint, match="uint64 limbs"):
        witness_limbs(pk, ints_to_limbs(wit).astype(np.int64))
    arr = ints_to_limbs(wit)
    arr[1] = ints_to_limbs([R])[0]
    with pytest.raises(UnsatisfiedConstraint, match="value 1 is not"):
        witness_limbs(pk, arr)


@pytest.mark.parametrize("name", ["reference", "cpu"])
def test_prove_from_ints_and_from_limbs_both_verify(pk, wit, name) -> None:  # type: ignore[no-untyped-def]
    be = get_backend(name)
    for w in (wit, ints_to_limbs(wit)):
        proof, public = prove(pk, w, be)
        assert public == wit[1 : 1 + pk.qap.n_public] and all(type(x) is int for x in public)
        assert verify(pk.vk, public, proof)
    with pytest.raises(UnsatisfiedConstraint):
        prove(pk, [*wit[:2], wit[2] + R, *wit[3:]], be)
