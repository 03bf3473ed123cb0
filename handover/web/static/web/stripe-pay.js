// The card form of the pay page: Stripe.js's card element, confirmed with the order's
// PaymentIntent (stripe.confirmCardPayment). The order starts when Stripe's webhook reaches
// the server, so on success the page goes to the order, which says the payment is being
// confirmed until then; a refused card shows Stripe's words beside the form.
(function () {
  "use strict";
  var form = document.getElementById("card-payment");
  if (!form || typeof Stripe === "undefined") return;
  var stripe = Stripe(form.dataset.publishableKey);
  var card = stripe.elements().create("card");
  card.mount("#card-element");
  var errors = document.getElementById("card-errors");
  var status = document.getElementById("card-status");
  var button = form.querySelector("button[type=submit]");

  function show(message) {
    errors.textContent = message;
    errors.hidden = !message;
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    button.disabled = true;
    show("");
    status.textContent = "Paying…";
    stripe
      .confirmCardPayment(form.dataset.clientSecret, { payment_method: { card: card } })
      .then(function (result) {
        if (result.error) {
          status.textContent = "";
          show(result.error.message || "The card was not accepted.");
          button.disabled = false;
          return;
        }
        status.textContent = "Paid. Your payment is being confirmed…";
        window.location.assign(form.dataset.payingUrl);
      });
  });
})();
