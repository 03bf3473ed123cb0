"""Moved to handover.testing.factories; kept until every test module imports it there."""

from handover.testing.factories import ALLOWED_FROM, DEFAULT_FROM, order_in_state

__all__ = ["ALLOWED_FROM", "DEFAULT_FROM", "order_in_state"]
