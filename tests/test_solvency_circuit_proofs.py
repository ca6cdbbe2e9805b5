"""Groth16 proofs of the solvency circuit: random books prove and verify on the cpu backend; a proof
does not verify under another chain, block, round, total or root."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from relayer.circuits.solvency import PUBLIC_INPUTS, Capacity, ChainContext, SolvencyCircuit, expected_public
from relayer.risk.market import compact_grid, compute_market_data
from relayer.risk.synthetic import default_instruments, default_market_inputs, generate_book
from relayer.zk.backends import get_backend
from relayer.zk.groth16.prover import prove
from relayer.zk.groth16.setup import dev_setup
from relayer.zk.groth16.keys import ProvingKey
from relayer.zk.groth16.verifier import verify

CAP = Capacity(accounts=4, instruments=4, scenarios=4)
MARKET = compute_market_data(default_instruments(), default_market_inputs(), compact_grid(CAP.scenarios))


@pytest.fixture(scope="module")
def setup() -> tuple[SolvencyCircuit, ProvingKey]:
    sc = SolvencyCircuit(CAP)
    return sc, dev_setup(sc.circuit.compile(), "cpu")


@settings(max_examples=2, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32), n=st.integers(0, CAP.accounts), round_=st.integers(1, 2**64 - 1),
       block=st.binary(min_size=32, max_size=32))
def test_random_books_prove_and_verify(setup: tuple[SolvencyCircuit, ProvingKey], seed: int, n: int, round_: int,
                                       block: bytes) -> None:
    sc, pk = setup
    ctx = ChainContext(31337, 10**6 + seed % 1000, block, 7 * 10**12, round_)
    book = generate_book(ctx.chain_id, n, seed)
    w = sc.witness(sc.inputs(ctx, book, MARKET))
    proof, public = prove(pk, w, get_backend("cpu"), r1cs=sc.circuit.compile())
    assert public == expected_public(ctx, book, MARKET, CAP)
    assert verify(pk.vk, public, proof)


def test_proof_is_bound_to_every_public_input(setup: tuple[SolvencyCircuit, ProvingKey]) -> None:
    sc, pk = setup
    ctx = ChainContext(31337, 77, bytes(31) + b"\x01", 10**12, 3)
    book = generate_book(ctx.chain_id, 3, seed=11)
    w = sc.witness(sc.inputs(ctx, book, MARKET))
    proof, public = prove(pk, w, get_backend("cpu"))
    assert verify(pk.vk, public, proof)
    for i, name in enumerate(PUBLIC_INPUTS):
        other = list(public)
        other[i] += 1
        assert not verify(pk.vk, other, proof), f"proof still verifies with {name} changed"
