"""SQLModel row classes of the relayer's database. Private to `relayer.storage`: the rest of the
program sees only the frozen records of `relayer.storage.records` (converted in `store.py`).

Integers that can exceed 2**63 (wei amounts, uint256 totals) are stored as decimal strings;
hashes and raw transactions as 0x-hex text, so every row reads the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, ForeignKey, UniqueConstraint
from sqlmodel import Field, SQLModel


class SnapshotRow(SQLModel, table=True):
    __tablename__ = "snapshots"
    __table_args__ = (UniqueConstraint("chain_id", "block_number", "block_hash"),)

    id: int | None = Field(default=None, primary_key=True)
    chain_id: int = Field(sa_column=Column(BigInteger, nullable=False, index=True))
    block_number: int = Field(sa_column=Column(BigInteger, nullable=False))
    block_hash: str
    data: str  # JSON of the ChainSnapshot (exact integers as strings)
    created_at: float


class ProofRow(SQLModel, table=True):
    __tablename__ = "proofs"

    id: int | None = Field(default=None, primary_key=True)
    chain_id: int = Field(sa_column=Column(BigInteger, nullable=False, index=True))
    block_number: int = Field(sa_column=Column(BigInteger, nullable=False))
    digest: str = Field(unique=True)  # 0x-hex, the ChainEntry.proofDigest
    proof: str  # snarkjs proof.json
    public_inputs: str  # snarkjs public.json
    backend: str
    created_at: float


class RoundRow(SQLModel, table=True):
    __tablename__ = "rounds"

    round: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    state: str
    reason: str | None = None
    created_at: float
    updated_at: float
    stage_times: str = "{}"  # JSON: state -> first time it was entered (epoch seconds)


class RoundSnapshotRow(SQLModel, table=True):
    """Which snapshot (and proof) each chain of a round uses."""

    __tablename__ = "round_snapshots"

    round: int = Field(sa_column=Column(BigInteger, ForeignKey("rounds.round"), primary_key=True, autoincrement=False))
    chain_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    snapshot_id: int = Field(foreign_key="snapshots.id")
    proof_id: int | None = Field(default=None, foreign_key="proofs.id")


class AttestationRow(SQLModel, table=True):
    __tablename__ = "attestations"

    round: int = Field(sa_column=Column(BigInteger, ForeignKey("rounds.round"), primary_key=True, autoincrement=False))
    struct_hash: str  # EIP-712 hashStruct(Attestation), domain-independent
    data: str  # Attestation.to_json()
    bundle: str  # 0x-hex proof bundle bytes (keccak256 == bundleDigest)
    created_at: float


class SigningRecordRow(SQLModel, table=True):
    """What a signer agreed to sign for a round; written BEFORE any signature is released."""

    __tablename__ = "signing_records"

    signer: str = Field(primary_key=True)  # EIP-55 address
    round: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    struct_hash: str
    created_at: float


class SignatureRow(SQLModel, table=True):
    __tablename__ = "signatures"
    __table_args__ = (UniqueConstraint("round", "chain_id", "signer"),)

    id: int | None = Field(default=None, primary_key=True)
    round: int = Field(sa_column=Column(BigInteger, nullable=False, index=True))
    chain_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    feed: str
    signer: str
    digest: str
    signature: str  # 0x-hex, 65 bytes r || s || v
    created_at: float


class SubmissionRow(SQLModel, table=True):
    __tablename__ = "submissions"

    round: int = Field(sa_column=Column(BigInteger, ForeignKey("rounds.round"), primary_key=True, autoincrement=False))
    chain_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    state: str
    reason: str | None = None
    sender: str | None = None
    tx_hash: str | None = None  # the latest transaction sent for this submission
    nonce: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    max_fee_wei: str | None = None
    priority_fee_wei: str | None = None
    attempts: int = 0
    block_number: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    gas_used: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    created_at: float
    updated_at: float


class SentTxRow(SQLModel, table=True):
    """Every signed transaction ever handed to a node, with its raw bytes (so a restart can look
    it up by hash, or re-broadcast exactly the same transaction, never a new one)."""

    __tablename__ = "sent_txs"

    tx_hash: str = Field(primary_key=True)
    round: int = Field(sa_column=Column(BigInteger, nullable=False, index=True))
    chain_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    sender: str
    nonce: int = Field(sa_column=Column(BigInteger, nullable=False))
    max_fee_wei: str
    priority_fee_wei: str
    raw: str
    kind: str = "submit"  # submit | cancel (a 0-value self transfer that frees a nonce)
    status: str = "sent"  # sent | replaced | dropped | mined
    note: str | None = None  # why a cancel was sent (becomes the submission's skip reason)
    created_at: float


class SubmissionEventRow(SQLModel, table=True):
    """Append-only history of every submission state change (for `relayer status` and audits)."""

    __tablename__ = "submission_events"

    id: int | None = Field(default=None, primary_key=True)
    round: int = Field(sa_column=Column(BigInteger, nullable=False, index=True))
    chain_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    state: str
    reason: str | None = None
    tx_hash: str | None = None
    at: float


class NonceRow(SQLModel, table=True):
    __tablename__ = "nonces"

    chain_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    sender: str = Field(primary_key=True)
    next_nonce: int = Field(sa_column=Column(BigInteger, nullable=False))
    updated_at: float
