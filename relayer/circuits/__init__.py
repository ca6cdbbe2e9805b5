"""Circuits of the solvency statement: the Merkle-sum tree (native) and the per-chain solvency circuit."""
