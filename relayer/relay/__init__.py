"""Relay stage: EIP-1559 fees under a cap, a persisted nonce manager, a per-feed submitter with
write-ahead states, fee-bumped replacement and backoff, and the concurrent multi-chain relay."""
