// The admin header's live count of comments waiting for moderation (over /live/admin).
(function () {
  "use strict";

  var badge = document.querySelector("[data-live-pending]");
  if (!badge || !("WebSocket" in window)) {
    return;
  }
  var MIN_DELAY = 1000;
  var MAX_DELAY = 30000;
  var delay = MIN_DELAY;

  function connect() {
    var scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
    var socket = new WebSocket(scheme + "//" + window.location.host + "/live/admin");
    socket.addEventListener("open", function () {
      delay = MIN_DELAY;
    });
    socket.addEventListener("message", function (event) {
      var message;
      try {
        message = JSON.parse(event.data);
      } catch (error) {
        return;
      }
      if (message && message.type === "pending" && typeof message.count === "number") {
        badge.textContent = String(message.count);
        badge.hidden = message.count === 0;
      }
    });
    socket.addEventListener("close", function () {
      var wait = delay + Math.random() * delay / 2;
      delay = Math.min(delay * 2, MAX_DELAY);
      window.setTimeout(connect, wait);
    });
  }

  connect();
})();
