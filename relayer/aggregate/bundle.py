"""The proof bundle of a round (SPEC §5.4): one Groth16 proof per chain, in increasing chain-id order
(the attestation's order), encoded as version 1 `abi.encode(uint256(1), uint256[8][])` through
`relayer.zk.solidity.encode_bundle`. The version word lets a recursive (constant-size) bundle be
introduced later without breaking deployed feeds.

A chain's `proofDigest` (ChainEntry field) is keccak256(abi.encode(uint256[8] proof words)), the
words in the verifier's order [A.x, A.y, B.x.c1, B.x.c0, B.y.c1, B.y.c0, C.x, C.y].
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from eth_abi import encode as abi_encode
from eth_utils import keccak

from relayer.errors import FormatError, VerificationError
from relayer.zk.groth16.types import Proof, VerifyingKey
from relayer.zk.groth16.verifier import verify, verify_batch
from relayer.zk.solidity import BUNDLE_VERSION_1, encode_bundle, encode_proof

BUNDLE_VERSION = BUNDLE_VERSION_1


def proof_digest(proof: Proof) -> bytes:
    """keccak256(abi.encode(uint256[8])) of the proof's verifier words."""
    return keccak(abi_encode(["uint256[8]"], [encode_proof(proof)]))


@dataclass(frozen=True)
class ChainProof:
    """One chain's proof with the public inputs it proves (the feed's 12-input layout)."""

    chain_id: int
    proof: Proof
    public: tuple[int, ...]
    backend: str = ""
    seconds: float = 0.0

    @property
    def digest(self) -> bytes:
        return proof_digest(self.proof)


@dataclass(frozen=True)
class ProofBundle:
    version: int
    proofs: tuple[ChainProof, ...]

    @classmethod
    def build(cls, proofs: Sequence[ChainProof]) -> ProofBundle:
        """Version-1 bundle of `proofs`, sorted by chain id; one proof per chain."""
        items = tuple(sorted(proofs, key=lambda p: p.chain_id))
        ids = [p.chain_id for p in items]
        if not items:
            raise FormatError("a proof bundle needs at least one chain proof")
        if len(set(ids)) != len(ids):
            raise FormatError(f"a bundle carries one proof per chain; got chain ids {ids}")
        return cls(BUNDLE_VERSION, items)

    @property
    def chain_ids(self) -> tuple[int, ...]:
        return tuple(p.chain_id for p in self.proofs)

    def encode(self) -> bytes:
        if self.version != BUNDLE_VERSION_1:
            raise FormatError(f"bundle version {self.version} has no encoder; this build knows version {BUNDLE_VERSION_1}")
        return encode_bundle([p.proof for p in self.proofs])

    @property
    def digest(self) -> bytes:
        """keccak256 of the encoded bundle: the attestation's bundleDigest."""
        return keccak(self.encode())

    def verify(self, vk: VerifyingKey, expected_public: Sequence[Sequence[int]] | None = None) -> None:
        """Check every proof alone and the batch (the feed's one multi-pairing), against
        `expected_public` (per chain, in bundle order) when given. Raises VerificationError."""
        if expected_public is not None:
            if len(expected_public) != len(self.proofs):
                raise VerificationError(f"{len(expected_public)} public input vectors for {len(self.proofs)} proofs")
            for p, want in zip(self.proofs, expected_public):
                if tuple(int(x) for x in want) != p.public:
                    raise VerificationError(f"chain {p.chain_id}: the proof's public inputs differ from the ones the "
                                            "feed will derive from the attestation; not signing")
        # the feed's own check: one multi-pairing over all proofs (random linear combination; sound
        # for every proof at once). Only when it fails are the proofs checked one by one, to name the bad one.
        if verify_batch(vk, [(list(p.public), p.proof) for p in self.proofs]):
            return
        for p in self.proofs:
            if not verify(vk, list(p.public), p.proof):
                raise VerificationError(f"chain {p.chain_id}: proof does not verify against the solvency key")
        raise VerificationError("the batched check of the bundle failed although each proof verifies alone")


__all__ = ["BUNDLE_VERSION", "ChainProof", "ProofBundle", "proof_digest"]
