"""Usernames that cannot pass for someone else's, time zones and addresses: pure rules, no
database."""

import functools
import unicodedata
import zoneinfo

from confusable_homoglyphs import categories, confusables

# Characters of no script of their own (digits, "-", "_", ".") or of the letter they follow.
_NEUTRAL = {"COMMON", "INHERITED"}
# Scripts one writing system mixes, as Japanese does Han, Hiragana and Katakana: allowed
# together, and with Latin (UTS #39's "highly restrictive" profile). Any other mix refused.
_WRITING_SYSTEMS = (
    frozenset({"LATIN", "HAN", "HIRAGANA", "KATAKANA"}),
    frozenset({"LATIN", "HAN", "BOPOMOFO"}),
    frozenset({"LATIN", "HAN", "HANGUL"}),
)


def username_normalize(name: str) -> str:
    """NFKC, as Django stores names: fullwidth letters are plain ones, the ligature U+FB01 is
    "fi"."""
    return unicodedata.normalize("NFKC", name)


def username_refusal(name: str) -> str | None:
    """Why a normalised username may not be used (it mixes scripts, so that some of its
    letters pose as others), or None."""
    if confusables.is_mixed_script(name, allowed_aliases=list(_NEUTRAL)):
        scripts = categories.unique_aliases(name) - _NEUTRAL
        if not any(scripts <= system for system in _WRITING_SYSTEMS):
            listed = " and ".join(sorted(s.title() for s in scripts))
            return f"The username mixes scripts ({listed}): use the letters of one."
    # A mix allowed above may still hold a letter made to look Latin.
    if confusables.is_dangerous(name, preferred_aliases=["latin"]):
        return "The username holds letters that look like Latin ones but are not."
    return None


def username_skeleton(name: str) -> str:
    """What a name looks like, UTS #39 style: each character replaced by the one of its
    lookalikes the Unicode confusables data takes as their prototype (Cyrillic U+0435 and
    Greek U+03BF by Latin "e" and "o", "0" by "O", "1" and "I" by "l", "m" by "rn"), then
    casefolded and NFKC. Two names with one skeleton can pass for each other."""
    shown = "".join(_prototype(c) for c in unicodedata.normalize("NFKC", name))
    return unicodedata.normalize("NFKC", shown.casefold())


@functools.cache
def _prototype(char: str) -> str:
    # The data links each character both ways: a lookalike to its prototype (one entry),
    # a prototype to all its lookalikes (several). Two characters that only name each
    # other are one pair; either stands for both.
    linked = [h["c"] for h in confusables.confusables_data.get(char, ())]
    if len(linked) != 1:
        return char
    other = linked[0]
    if len(confusables.confusables_data.get(other, ())) > 1:
        return other
    return min(char, other)


@functools.cache
def _time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def time_zone_valid(name: str) -> bool:
    """Whether ``name`` is an IANA time zone this machine knows ("Europe/Paris", "UTC")."""
    return name in _time_zones()


def time_zone_choices() -> list[str]:
    """Every zone a user may choose, sorted by name."""
    return sorted(_time_zones())


def email_same(a: str, b: str) -> bool:
    """Two addresses are one when they differ only in case: mail servers treat them alike in
    practice, and a second account on a case variant would get the first one's password resets."""
    return a.casefold() == b.casefold()
