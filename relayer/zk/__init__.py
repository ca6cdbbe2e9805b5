"""Zero-knowledge core: BN254 arithmetic, R1CS circuits, Groth16, circom/snarkjs interop."""
