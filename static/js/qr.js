// The desktop side of QR sign-in: long-poll the ticket until the phone confirms.
(function () {
  "use strict";
  var figure = document.getElementById("qr-code");
  var status = document.getElementById("qr-status");
  var renew = document.getElementById("qr-renew");
  if (!figure || !status) { return; }
  var token = figure.getAttribute("data-token");
  var current = "pending";

  function show(state) {
    var text = status.getAttribute("data-" + state);
    if (text) { status.textContent = text; }
    status.setAttribute("data-state", state);
    if (state === "expired" || state === "cancelled") {
      figure.classList.add("qr-dead");
      renew.hidden = false;
    }
  }

  function poll(delay) {
    window.setTimeout(function () {
      fetch("/auth/qr/wait/" + encodeURIComponent(token) + "?since=" + current, {
        credentials: "same-origin",
        headers: { "Accept": "application/json" }
      }).then(function (response) {
        return response.json();
      }).then(function (body) {
        if (body.status === "signed_in") {
          show("signed_in");
          window.location.assign(body.next || "/admin");
          return;
        }
        current = body.status;
        show(current);
        if (current === "pending" || current === "scanned") { poll(0); }
      }).catch(function () {
        show("error");
        poll(2000);
      });
    }, delay);
  }

  poll(0);
}());
