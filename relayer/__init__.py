"""Multi-chain solvency oracle and cross-chain proof relayer."""

__version__ = "0.1.0"
