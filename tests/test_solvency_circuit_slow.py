"""Solvency circuit at benchmark shape (4 instruments x 16 SPAN scenarios): 64 accounts prove and verify."""

from __future__ import annotations

import pytest

from relayer.circuits.solvency import Capacity, ChainContext, SolvencyCircuit, expected_public
from relayer.risk.market import compute_market_data
from relayer.risk.synthetic import default_market_inputs, generate_book
from relayer.zk.backends import get_backend
from relayer.zk.groth16.prover import prove
from relayer.zk.groth16.setup import dev_setup
from relayer.zk.groth16.verifier import verify


@pytest.mark.slow
def test_64_accounts_full_span_grid_prove_and_verify() -> None:
    cap = Capacity(64, 4, 16)
    sc = SolvencyCircuit(cap)
    r1 = sc.circuit.compile()
    assert r1.n_constraints == 64 * (987 + 34 * 4 + 65 * 16 + 4 * -(-(16 + 1) // 3)) + 4006  # docs/solvency.md
    assert sc.circuit.unconstrained_signals() == []
    book = generate_book(31337, 61, seed=4)  # 61 real accounts, 3 padding slots
    market = compute_market_data(book.instruments, default_market_inputs())
    ctx = ChainContext(31337, 19_000_000, bytes(range(32)), 10**15, 42)
    w = sc.witness(sc.inputs(ctx, book, market))
    pk = dev_setup(r1, "cpu")
    proof, public = prove(pk, w, get_backend("cpu"), r1cs=r1)
    assert public == expected_public(ctx, book, market, cap)
    assert verify(pk.vk, public, proof)
