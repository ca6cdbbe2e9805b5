"""Local multi-chain devnets on real anvil processes."""
