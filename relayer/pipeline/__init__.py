"""Round orchestration: snapshot → market data → per-chain proofs → bundle → attestation →
signatures → submission, persisted at every step (see relayer.pipeline.round)."""
