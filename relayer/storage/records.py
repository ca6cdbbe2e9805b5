"""Frozen records the store hands out (the domain side of the storage edge), and the two
persisted state machines: a round and a submission to one feed (STYLE 7).

Round:       snapshotted -> proven -> attested -> signed -> submitting -> done | failed(reason)
Submission:  pending -> sent(tx hash, nonce, fees) -> included | dropped(reason) | replaced
             | retry(reason) | failed(reason) | skipped(reason)
A state is written BEFORE the side effect it announces, so a restart knows what may have happened.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class RoundState(str, Enum):
    SNAPSHOTTED = "snapshotted"
    PROVEN = "proven"
    ATTESTED = "attested"
    SIGNED = "signed"
    SUBMITTING = "submitting"
    DONE = "done"
    FAILED = "failed"


# Forward moves only; `failed` is reachable from every unfinished state. A round never goes back:
# a redone snapshot (reorg) is a new round number.
ROUND_TRANSITIONS: dict[RoundState, frozenset[RoundState]] = {
    RoundState.SNAPSHOTTED: frozenset({RoundState.PROVEN, RoundState.FAILED}),
    RoundState.PROVEN: frozenset({RoundState.ATTESTED, RoundState.FAILED}),
    RoundState.ATTESTED: frozenset({RoundState.SIGNED, RoundState.FAILED}),
    RoundState.SIGNED: frozenset({RoundState.SUBMITTING, RoundState.FAILED}),
    RoundState.SUBMITTING: frozenset({RoundState.DONE, RoundState.FAILED}),
    RoundState.DONE: frozenset(),
    RoundState.FAILED: frozenset(),
}


class SubmissionState(str, Enum):
    PENDING = "pending"
    SENT = "sent"
    INCLUDED = "included"
    DROPPED = "dropped"
    REPLACED = "replaced"
    RETRY = "retry"
    FAILED = "failed"
    SKIPPED = "skipped"

    @property
    def terminal(self) -> bool:
        return self in (SubmissionState.INCLUDED, SubmissionState.FAILED, SubmissionState.SKIPPED)


_S = SubmissionState
SUBMISSION_TRANSITIONS: dict[SubmissionState, frozenset[SubmissionState]] = {
    _S.PENDING: frozenset({_S.SENT, _S.RETRY, _S.FAILED, _S.SKIPPED}),
    # sent -> sent: a re-broadcast of the same stored transaction after a restart
    _S.SENT: frozenset({_S.SENT, _S.INCLUDED, _S.DROPPED, _S.REPLACED, _S.RETRY, _S.FAILED, _S.SKIPPED}),
    _S.DROPPED: frozenset({_S.SENT, _S.RETRY, _S.FAILED, _S.SKIPPED}),
    _S.REPLACED: frozenset({_S.SENT, _S.INCLUDED, _S.RETRY, _S.FAILED, _S.SKIPPED}),
    _S.RETRY: frozenset({_S.SENT, _S.RETRY, _S.FAILED, _S.SKIPPED, _S.INCLUDED, _S.DROPPED, _S.REPLACED}),
    _S.INCLUDED: frozenset(),
    _S.FAILED: frozenset(),
    _S.SKIPPED: frozenset(),
}
# States that require a reason (the operator must be told why).
REASON_REQUIRED = frozenset({_S.DROPPED, _S.RETRY, _S.FAILED, _S.SKIPPED})


@dataclass(frozen=True)
class RoundRecord:
    round: int
    state: RoundState
    reason: str | None
    created_at: float
    updated_at: float
    stage_times: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class SentTx:
    """A signed transaction handed (or about to be handed) to a node."""

    tx_hash: str
    round: int
    chain_id: int
    sender: str
    nonce: int
    max_fee_wei: int
    priority_fee_wei: int
    raw: bytes
    kind: str
    status: str
    created_at: float
    note: str | None = None


@dataclass(frozen=True)
class SubmissionRecord:
    round: int
    chain_id: int
    state: SubmissionState
    reason: str | None
    sender: str | None
    tx_hash: str | None
    nonce: int | None
    max_fee_wei: int | None
    priority_fee_wei: int | None
    attempts: int
    block_number: int | None
    gas_used: int | None
    updated_at: float


@dataclass(frozen=True)
class SignatureRecord:
    round: int
    chain_id: int
    feed: str
    signer: str
    digest: bytes
    signature: bytes


@dataclass(frozen=True)
class SubmissionEvent:
    round: int
    chain_id: int
    state: SubmissionState
    reason: str | None
    tx_hash: str | None
    at: float
