"""Text from agents and people made safe to show on a terminal or a page.

Bidirectional controls (U+202A-202E, U+2066-2069, U+200E/F, U+061C) can make a reason or a name
read differently from what it is ("Trojan Source"); C0/C1 controls such as ESC can drive a terminal.
Both are shown as visible escapes (`\\u202e`); newlines and tabs are kept.
"""

from __future__ import annotations

import re

_HIDDEN = re.compile("[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def visible_text(text: str) -> str:
    """text with bidi and control characters (not newline or tab) written as \\uXXXX escapes."""
    return _HIDDEN.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def has_hidden_characters(text: str) -> bool:
    """Whether visible_text would change text."""
    return _HIDDEN.search(text) is not None
