"""Glob patterns as Redis's KEYS matches them: ``* ? [abc] [^a] [a-z] \\x``.

The pattern is compiled once into tokens, then matched with the greedy
algorithm that backtracks only to the last ``*``: O(len(pattern) x len(key))
at worst, never exponential.  Edge cases follow Redis: an unterminated class
ends at the end of the pattern, a reversed range ``[z-a]`` is swapped, a
trailing backslash is a literal backslash.
"""

from __future__ import annotations

from typing import TypeAlias

__all__ = ["compile_pattern", "match", "matches"]

_STAR = -1
_ANY = -2
# A token: a byte value, _STAR, _ANY, or a class (negated, ranges).
Token: TypeAlias = int | tuple[bool, tuple[tuple[int, int], ...]]


def compile_pattern(pattern: bytes) -> list[Token]:
    """Turn ``pattern`` into the tokens :func:`match` walks."""
    tokens: list[Token] = []
    i = 0
    n = len(pattern)
    while i < n:
        c = pattern[i]
        if c == 42:  # '*': runs of stars are one star
            if not tokens or tokens[-1] != _STAR:
                tokens.append(_STAR)
            i += 1
        elif c == 63:  # '?'
            tokens.append(_ANY)
            i += 1
        elif c == 91:  # '['
            i = _compile_class(pattern, i + 1, tokens)
        elif c == 92 and i + 1 < n:  # backslash escapes the next byte
            tokens.append(pattern[i + 1])
            i += 2
        else:
            tokens.append(c)
            i += 1
    return tokens


def _compile_class(pattern: bytes, i: int, tokens: list[Token]) -> int:
    n = len(pattern)
    negated = i < n and pattern[i] == 94  # '^'
    if negated:
        i += 1
    ranges: list[tuple[int, int]] = []
    while i < n:
        c = pattern[i]
        if c == 92 and i + 1 < n:
            ranges.append((pattern[i + 1], pattern[i + 1]))
            i += 2
            continue
        if c == 93:  # ']'
            i += 1
            break
        if i + 2 < n and pattern[i + 1] == 45:  # 'a-z'
            lo, hi = c, pattern[i + 2]
            ranges.append((min(lo, hi), max(lo, hi)))
            i += 3
            continue
        ranges.append((c, c))
        i += 1
    tokens.append((negated, tuple(ranges)))
    return i


def _one(token: Token, c: int) -> bool:
    if isinstance(token, int):
        return token in (c, _ANY)
    negated, ranges = token
    for lo, hi in ranges:
        if lo <= c <= hi:
            return not negated
    return negated


def match(tokens: list[Token], key: bytes) -> bool:
    """Whether ``key`` matches the compiled pattern."""
    ti = ki = 0
    star = -1  # token index just past the last star seen
    resume = 0  # key index that star is currently made to cover up to
    nt = len(tokens)
    nk = len(key)
    while ki < nk:
        if ti < nt:
            token = tokens[ti]
            if token == _STAR:
                star = ti + 1
                resume = ki
                ti += 1
                continue
            if _one(token, key[ki]):
                ti += 1
                ki += 1
                continue
        if star < 0:
            return False
        resume += 1
        ki = resume
        ti = star
    while ti < nt and tokens[ti] == _STAR:
        ti += 1
    return ti == nt


def matches(pattern: bytes, key: bytes) -> bool:
    """Compile ``pattern`` and match ``key`` against it."""
    return match(compile_pattern(pattern), key)
