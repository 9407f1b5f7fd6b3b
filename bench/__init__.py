"""selreactor's benchmark harness: ``python -m bench [--quick]``."""
