"""Benchmarks (never timed tests): results as JSON with the machine described."""
