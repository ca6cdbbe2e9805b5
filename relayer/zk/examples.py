"""Example circuits: the parametrized benchmark circuit the prover benchmarks run at 2^k constraints.

Its witness looks like a real circuit's: about half the wires are bits (0/1) from decompositions,
the rest are full-size field elements from a multiplication chain; two public inputs, one output.
"""

from __future__ import annotations

from typing import NamedTuple

from relayer.zk.circuit import Circuit, CircuitError, Hint, LinearCombination, Signal, gc_paused
from relayer.zk.field import R
from relayer.zk.gadgets.bits import assert_bool

BLOCK_BITS = 32
BLOCK_MULS = 31
BLOCK_SIZE = BLOCK_BITS + 1 + BLOCK_MULS  # 32 boolean + 1 recomposition + 31 products = 64


class BenchCircuit(NamedTuple):
    circuit: Circuit
    inputs: dict[str, int]


def make_bench_circuit(n_constraints: int, seed: int = 1) -> BenchCircuit:
    """A satisfiable circuit with exactly `n_constraints` constraints (>= 2) and its inputs.

    Blocks of 64: split the running value z into 32 low bits (booleans + recomposition with an
    unconstrained high part) then 31 steps z <- (z + a) * (z + x); the remainder is filled with
    more steps, and the last constraint makes z the public output.
    """
    if n_constraints < 2:
        raise CircuitError(f"the benchmark circuit needs at least 2 constraints, asked for {n_constraints}")
    with gc_paused():
        return _build(n_constraints, seed)


def _build(n_constraints: int, seed: int) -> BenchCircuit:
    c = Circuit(f"bench{n_constraints}")
    out = c.declare_output("out")  # declared first: the builder's order is circom's, no renumbering
    pub = [c.public_input("a"), c.public_input("b")]
    prv = [c.private_input("x"), c.private_input("y")]
    body = n_constraints - 1  # one constraint for the output
    z: LinearCombination = pub[0] + prv[0]
    step = 0

    def mul_step(z: LinearCombination) -> Signal:
        nonlocal step
        k = step
        step += 1
        return c.mul(z + pub[k & 1], z + prv[(k >> 1) & 1], name=f"z{k}")

    blocks, rest = divmod(body, BLOCK_SIZE)
    for blk in range(blocks):
        zl = z
        bits = [c.signal(f"b{blk}.bit{i}", _bit_hint(zl, i)) for i in range(BLOCK_BITS)]
        for b in bits:
            assert_bool(c, b, name=f"{b.name}:bool")
        hi = c.signal(f"b{blk}.hi", lambda ev, zl=zl: ev(zl) >> BLOCK_BITS)
        low = LinearCombination({b.id: 1 << i for i, b in enumerate(bits)})
        c.constrain(low + hi * (1 << BLOCK_BITS), 1, zl, name=f"b{blk}:recompose")
        z = low + 1  # continue the chain from the small value, so products stay exact
        for _ in range(BLOCK_MULS):
            z = mul_step(z)
    for _ in range(rest):
        z = mul_step(z)
    c.assign_output(out, z)
    assert c.n_constraints == n_constraints
    # inputs: deterministic, full-size values
    vals = [pow(7 + seed, 2**61 + i, R) for i in range(4)]
    return BenchCircuit(c, {"a": vals[0], "b": vals[1], "x": vals[2], "y": vals[3]})


def _bit_hint(z: LinearCombination, i: int) -> Hint:
    return lambda ev: (ev(z) >> i) & 1


__all__ = ["BenchCircuit", "make_bench_circuit"]
