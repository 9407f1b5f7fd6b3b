"""Peer servers the benchmark runs against selreactor, one process each."""
