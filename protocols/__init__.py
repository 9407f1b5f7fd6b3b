"""selreactor's built-in protocol plugins.

Each module registers in the ``reactor.protocols`` entry-point group exactly
as a third-party plugin would, and depends only on :mod:`reactor.protocol`
(and :mod:`reactor.framing` for framed protocols).
"""
