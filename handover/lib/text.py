"""The one check every piece of text a user writes passes: titles, messages, reasons, notes,
reviews, reports, usernames and file names alike, so that no field forgets a rule."""

import re
import unicodedata

from handover.lib.errors import InvalidInput

# The bidi embeddings (U+202A, U+202B), overrides (U+202D, U+202E) and their end (U+202C), the
# isolates (U+2066 to U+2069) and the marks (U+200E, U+200F, U+061C) change the order in which
# text is shown: "invoice\u202efdp.exe" reads as "invoiceexe.pdf", and a title or a message
# shows other words than the ones stored and hashed into the record. Letters of right-to-left
# scripts are kept: they show in their own direction without any of these.
BIDI_CONTROLS = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_BIDI = re.compile(f"[{BIDI_CONTROLS}]")
# One-line text (names) takes no control character at all: no line break, no escape.
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f]")


def text_check(
    text: str,
    *,
    field: str,
    limit: int,
    required: bool = True,
    one_line: bool = False,
    code: str | None = None,
) -> str:
    """The text unchanged if a user may write it in ``field``; else ``InvalidInput`` (400)
    naming the field, with ``code`` or one that says what is wrong."""
    if "\x00" in text:
        raise InvalidInput(f"The {field} may not contain NUL characters.", code=code)
    if one_line and (found := _CONTROLS.search(text)):
        raise InvalidInput(
            f"The {field} may not contain control characters ({_spell(found[0])}).", code=code
        )
    if found := _BIDI.search(text):
        raise InvalidInput(
            f"The {field} may not contain {_spell(found[0])}: it changes the direction in "
            "which text is shown.",
            code=code or "bidi_control",
        )
    if required and not text.strip():
        raise InvalidInput(f"The {field} may not be empty.", code=code)
    if len(text) > limit:
        raise InvalidInput(f"The {field} may have at most {limit} characters.", code=code)
    return text


def _spell(char: str) -> str:
    name = unicodedata.name(char, "")
    return f"U+{ord(char):04X} {name}".strip()
