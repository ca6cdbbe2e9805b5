"""Groth16 over BN254: setup, prove, verify, serialization (one module per phase)."""
