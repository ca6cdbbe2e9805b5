"""Native Poseidon over the BN254 scalar field with the circomlib parameters (same outputs as circomlibjs).

Permutation (Grassi et al., eprint 2019/458; round structure as circomlibjs 0.1.7
`src/poseidon_reference.js`): state = [0, inputs...], t = len(inputs) + 1; for each of RF + RP rounds:
add round constants, S-box x^5 on every element (first and last RF/2 rounds) or on state[0] only
(partial rounds), multiply by the MDS matrix. Output = state[0]. RF = 8, RP by t from the data file.
Constants: `relayer/zk/data/poseidon_constants.json`, converted by scripts/gen-vectors-poseidon from
npm circomlibjs 0.1.7 `src/poseidon_constants.js`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources

from relayer.errors import ProverError
from relayer.zk.field import R

MAX_INPUTS = 16


@dataclass(frozen=True)
class PoseidonParams:
    t: int
    n_rounds_f: int
    n_rounds_p: int
    c: tuple[int, ...]  # t * (RF + RP) round constants, round-major
    m: tuple[tuple[int, ...], ...]  # t x t MDS matrix


@cache
def _raw() -> dict:
    with resources.files("relayer.zk").joinpath("data/poseidon_constants.json").open("r") as f:
        return json.load(f)


@cache
def params(t: int) -> PoseidonParams:
    """Parameters for state width t (2..17, i.e. 1..16 inputs)."""
    raw = _raw()
    entry = raw["t"].get(str(t))
    if entry is None:
        raise ProverError(f"Poseidon has no parameters for width t={t}; supported inputs: 1..{MAX_INPUTS}")
    return PoseidonParams(
        t=t,
        n_rounds_f=int(raw["n_rounds_f"]),
        n_rounds_p=int(entry["n_rounds_p"]),
        c=tuple(int(x, 16) for x in entry["C"]),
        m=tuple(tuple(int(x, 16) for x in row) for row in entry["M"]),
    )


def poseidon(inputs: list[int] | tuple[int, ...]) -> int:
    """Poseidon hash of 1..16 field elements (each in [0, r)), as circomlibjs `poseidon(inputs)`."""
    n = len(inputs)
    if not 1 <= n <= MAX_INPUTS:
        raise ProverError(f"Poseidon takes 1..{MAX_INPUTS} inputs, got {n}")
    for i, x in enumerate(inputs):
        if isinstance(x, bool) or not isinstance(x, int) or not 0 <= x < R:
            raise ProverError(f"Poseidon input {i} must be an int in [0, r), got {x!r}")
    p = params(n + 1)
    t, c, m = p.t, p.c, p.m
    half_f = p.n_rounds_f // 2
    state = [0, *inputs]
    for r in range(p.n_rounds_f + p.n_rounds_p):
        base = r * t
        state = [(s + c[base + i]) % R for i, s in enumerate(state)]
        if r < half_f or r >= half_f + p.n_rounds_p:
            state = [pow(s, 5, R) for s in state]
        else:
            state[0] = pow(state[0], 5, R)
        state = [sum(mij * s for mij, s in zip(row, state)) % R for row in m]
    return state[0]


def poseidon_many(values: list[int] | tuple[int, ...]) -> int:
    """Hash a list of any length (>= 0) to one field element, length-prefixed to rule out collisions
    between lists of different lengths:
        h = poseidon([len, v0 .. v14])                      (first call: up to 15 values)
        h = poseidon([h, next up to 15 values])             (repeated until the list is consumed)
    Same layout as the gadget `relayer.zk.gadgets.poseidon.poseidon_hash_many`.
    """
    vals = list(values)
    chunk = MAX_INPUTS - 1
    h = poseidon([len(vals), *vals[:chunk]])
    for i in range(chunk, len(vals), chunk):
        h = poseidon([h, *vals[i : i + chunk]])
    return h


__all__ = ["poseidon", "poseidon_many", "params", "PoseidonParams", "MAX_INPUTS"]
