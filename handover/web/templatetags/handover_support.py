from django import template

from handover.disputes.flags import FlagCode

register = template.Library()

FLAG_LABELS: dict[str, str] = {
    FlagCode.ORIGINALS_THEN_EXIT: "Originals taken, then an exit",
    FlagCode.CHANGED_AFTER_START: "Changed after work began",
    FlagCode.LATE_DELIVERY: "Late delivery",
    FlagCode.PARTY_SILENT: "A party went silent",
    FlagCode.CONTACT_SHARED: "Contact details shared",
}


@register.filter
def flag_label(code: str) -> str:
    """A flag's code as a short label; its reason says the rest."""
    return FLAG_LABELS.get(code, code.replace("_", " ").capitalize())
