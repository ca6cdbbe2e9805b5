"""Persistence (SQLModel): snapshots, proofs, rounds, attestations, signatures, submissions and
nonces, as write-ahead state machines. Only `Store` and frozen records cross this package's edge."""

from relayer.storage.records import (
    RoundRecord,
    RoundState,
    SentTx,
    SignatureRecord,
    SubmissionEvent,
    SubmissionRecord,
    SubmissionState,
)
from relayer.storage.store import ProofRecord, Store

__all__ = ["ProofRecord", "RoundRecord", "RoundState", "SentTx", "SignatureRecord", "Store", "SubmissionEvent",
           "SubmissionRecord", "SubmissionState"]
