"""Checks on text that the services store, whichever door it came in by."""

import re

# A plain decimal number as people and CSV files write it: no `1_000`, no full-width
# digits, no hexadecimal. Python's float() accepts all of those, the databases don't
# know them and a reader would not expect them.
PLAIN_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d{1,3})?$", re.ASCII)


def storable(text: str) -> bool:
    """False for text holding a lone surrogate (from a JSON escape such as \\udfff):
    it cannot be encoded as UTF-8, so neither database could store it."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def plain_number(text: str) -> float:
    """The number `text` writes, or ValueError: only plain decimal notation, finite."""
    cleaned = text.strip()
    if not PLAIN_NUMBER.match(cleaned):
        raise ValueError(text)
    number = float(cleaned)
    if number != number or number in (float("inf"), float("-inf")):
        raise ValueError(text)
    return number
