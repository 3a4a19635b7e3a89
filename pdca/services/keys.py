"""Human keys for entities: P-7 (problem), C-3 (cycle), A-12 (action)."""

import re

from pdca.services.errors import Invalid

PREFIXES = {"problem": "P", "cycle": "C", "action": "A", "inspection": "I"}
_KEY = re.compile(r"^([PCAI])-?([0-9]{1,9})$", re.IGNORECASE)


def key(entity_type: str, entity_id: int | None) -> str:
    return f"{PREFIXES[entity_type]}-{entity_id}"


def parse(text: str, entity_type: str) -> int:
    """'A-12', 'a12' or '12' → 12, checking the prefix matches."""
    text = text.strip()
    if text.isascii() and text.isdigit() and len(text) <= 9:
        return int(text)
    match = _KEY.match(text)
    if not match or match.group(1).upper() != PREFIXES[entity_type]:
        raise Invalid(f"{text!r} is not a {entity_type} key like {PREFIXES[entity_type]}-12.")
    return int(match.group(2))
