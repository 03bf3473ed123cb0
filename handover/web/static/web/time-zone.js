// The browser's IANA time zone: into the sign-up form's hidden field, and shown beside the
// account page's choice. The server checks the name; without this script it takes UTC.
(function () {
  "use strict";
  var zone;
  try {
    zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  } catch (error) {
    return;
  }
  if (!zone) return;
  document.querySelectorAll("input[data-browser-time-zone]").forEach(function (input) {
    if (!input.value) input.value = zone;
  });
  document.querySelectorAll("[data-browser-time-zone-hint]").forEach(function (hint) {
    hint.querySelector("strong").textContent = zone;
    hint.hidden = false;
  });
})();
