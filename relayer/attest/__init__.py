"""Attestation stage: the EIP-712 typed attestation of a round, its digest and its signatures."""
