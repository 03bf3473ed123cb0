"""The boundary's routes for paying in the browser, which localstripe's Stripe.js lacks.

localstripe's ``confirmCardPayment`` only answers a 3-D Secure challenge: it cannot confirm a
PaymentIntent with a card element, and localstripe takes no publishable key on
``POST /v1/payment_intents/{id}/confirm``. Stripe.js does both
(https://docs.stripe.com/js/payment_intents/confirm_card_payment): it posts the card as
``payment_method_data`` with the publishable key and the client secret. These routes serve
localstripe's Stripe.js with that ``confirmCardPayment`` added, and answer that request by
doing, with localstripe's own API, what Stripe does: a PaymentMethod from the card, set on
the PaymentIntent, confirmed. A confirmation with the secret key is passed on unchanged.
"""

import json
import re
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

SECRET_KEY = "sk_test_boundary"  # localstripe takes any secret key

CONFIRM_CARD_PAYMENT = b"""
// Added by Handover's test boundary: confirmCardPayment with a card element, as Stripe.js
// does it (the card as payment_method_data, with the publishable key and client secret).
(function () {
  const localStripe = Stripe;
  Stripe = (apiKey) => {
    const stripe = localStripe(apiKey);
    const authenticate = stripe.confirmCardPayment;
    stripe.confirmCardPayment = async (clientSecret, data) => {
      const card = data && data.payment_method && data.payment_method.card;
      if (!card || !card.value) return authenticate(clientSecret, data);
      const pi = clientSecret.match(/^(pi_\\w+)_secret_/)[1];
      const body = new URLSearchParams({
        key: apiKey, client_secret: clientSecret, 'payment_method_data[type]': 'card',
      });
      Object.entries(card.value.card).forEach(([field, value]) => {
        body.append(`payment_method_data[card][${field}]`, value);
      });
      const response = await fetch(
        `${LOCALSTRIPE_BASE_API}/v1/payment_intents/${pi}/confirm`, {method: 'POST', body});
      const answer = await response.json().catch(() => ({}));
      if (response.status !== 200 || answer.error) {
        return {error: answer.error || {message: 'The payment could not be confirmed.'}};
      }
      if (answer.status === 'requires_action') return authenticate(clientSecret, data);
      return {paymentIntent: answer};
    };
    return stripe;
  };
})();
"""


def _call(
    boundary, method: str, path: str, form: dict[str, list[str]] | None = None, auth: str = ""
) -> tuple[int, Any]:
    request = urllib.request.Request(
        boundary.localstripe_url + path,
        data=urllib.parse.urlencode(form or {}, doseq=True).encode() if method == "POST" else None,
        method=method,
        headers={"Authorization": auth or f"Bearer {SECRET_KEY}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def stripe_js(boundary, match, form, body, headers) -> tuple[int, bytes]:
    with urllib.request.urlopen(boundary.localstripe_url + "/js.stripe.com/v3/") as response:
        return 200, response.read() + CONFIRM_CARD_PAYMENT


def confirm(boundary, match, form, body, headers) -> tuple[int, Any]:
    intent_id = match["id"]
    path = f"/v1/payment_intents/{intent_id}/confirm"
    key = (form.get("key") or [""])[0]
    if not key.startswith("pk_"):  # the server's own call, with the secret key
        return _call(boundary, "POST", path, form, headers.get("Authorization", ""))
    status, intent = _call(boundary, "GET", f"/v1/payment_intents/{intent_id}")
    if status != 200 or intent.get("client_secret") != (form.get("client_secret") or [""])[0]:
        return 401, {"error": {"type": "invalid_request_error", "message": "Unauthorized"}}
    prefix = "payment_method_data[card]"
    card = {"card" + k.removeprefix(prefix): v for k, v in form.items() if k.startswith(prefix)}
    status, method = _call(boundary, "POST", "/v1/payment_methods", {"type": ["card"], **card})
    if status != 200:
        return status, method
    _call(boundary, "POST", f"/v1/payment_intents/{intent_id}", {"payment_method": [method["id"]]})
    return _call(boundary, "POST", path)


ROUTES = [
    ("GET", re.compile(r"/js\.stripe\.com/v3/"), stripe_js),
    ("POST", re.compile(r"/v1/payment_intents/(?P<id>pi_\w+)/confirm"), confirm),
]
