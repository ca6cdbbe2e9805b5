"""Risk stage: the private ledger, the round's market data (marks, risk arrays, commitment) and the
evaluator of SPEC §2 that the solvency circuit proves."""
