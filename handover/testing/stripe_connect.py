"""Routes of the Stripe boundary server (see ``testing.stripe``) for what localstripe lacks."""

from handover.testing.stripe_boundary import Route

ROUTES: list[Route] = []
