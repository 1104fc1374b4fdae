"""Offsets across masking: a span chosen on the masked text back to the raw text, and the reverse.

A boundary inside a replaced span takes in all of it: a span that starts or ends inside
``<EMAIL_ADDRESS>`` maps to one that covers the whole raw address. So does a boundary on a
replacement of no width (a redaction). Elsewhere the unreplaced text is shifted as it was.
"""

from pii.results import Masked

_Pair = tuple[int, int, int, int]  # from_start, from_end, to_start, to_end


def masked_to_raw(masked: Masked, start: int, end: int) -> tuple[int, int]:
    """Raw offsets of the span ``[start, end)`` of ``masked.text``."""
    pairs = [(s.masked_start, s.masked_end, s.raw_start, s.raw_end) for s in masked.spans]
    return _mapped(pairs, start, end, len(masked.text))


def raw_to_masked(masked: Masked, start: int, end: int) -> tuple[int, int]:
    """Offsets in ``masked.text`` of the raw span ``[start, end)``."""
    pairs = [(s.raw_start, s.raw_end, s.masked_start, s.masked_end) for s in masked.spans]
    shift = masked.spans[-1].raw_end - masked.spans[-1].masked_end if masked.spans else 0
    return _mapped(pairs, start, end, len(masked.text) + shift)


def _mapped(pairs: list[_Pair], start: int, end: int, length: int) -> tuple[int, int]:
    if not 0 <= start <= end <= length:
        raise ValueError(f"span [{start}, {end}) is not within a text of length {length}")
    return _point(pairs, start, at_start=True), _point(pairs, end, at_start=False)


def _point(pairs: list[_Pair], position: int, *, at_start: bool) -> int:
    covering = [p for p in pairs if p[0] < position < p[1] or p[0] == p[1] == position]
    if covering:
        return covering[0][2] if at_start else covering[-1][3]
    before = [p for p in pairs if p[1] <= position]
    return position + (before[-1][3] - before[-1][1] if before else 0)
