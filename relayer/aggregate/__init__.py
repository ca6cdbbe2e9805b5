"""Aggregation stage (SPEC §5.4): the latest proof of every chain in one versioned bundle that a
feed verifies with one batched pairing check."""

from relayer.aggregate.bundle import BUNDLE_VERSION, ChainProof, ProofBundle, proof_digest

__all__ = ["BUNDLE_VERSION", "ChainProof", "ProofBundle", "proof_digest"]
