// Live comments: an open article shows newly approved comments without a reload.
// The server sends each comment as the HTML fragment the page itself renders (already
// escaped there); it is parsed as an inert document and moved in, never built from text.
// Without JavaScript, or with WebSocket blocked, the page simply stays as it was loaded.
(function () {
  "use strict";

  var section = document.querySelector("[data-live-url]");
  if (!section || !("WebSocket" in window)) {
    return;
  }
  var MIN_DELAY = 1000;
  var MAX_DELAY = 30000;
  var delay = MIN_DELAY;
  var parser = new DOMParser();

  function commentList() {
    var list = section.querySelector("ol.comment-list");
    if (!list) {
      list = document.createElement("ol");
      list.className = "comment-list";
      var heading = section.querySelector("h2");
      section.insertBefore(list, heading ? heading.nextSibling : section.firstChild);
    }
    return list;
  }

  function showComment(message) {
    if (typeof message.floor !== "number" || document.getElementById("floor-" + message.floor)) {
      return; // already on the page (loaded with it, or sent twice)
    }
    var parsed = parser.parseFromString(String(message.html), "text/html");
    var item = parsed.body.firstElementChild;
    if (!item || item.tagName !== "LI") {
      return;
    }
    item = document.adoptNode(item);
    item.classList.add("comment-new");
    var list = commentList();
    // Floors are ordered: an approved older comment goes back to its place.
    var after = null;
    list.querySelectorAll(":scope > li[id^='floor-']").forEach(function (other) {
      if (Number(other.id.slice(6)) > message.floor && after === null) {
        after = other;
      }
    });
    list.insertBefore(item, after);
  }

  function connect() {
    var scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
    var socket;
    try {
      socket = new WebSocket(scheme + "//" + window.location.host + section.getAttribute("data-live-url"));
    } catch (error) {
      return;
    }
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
      if (message && message.type === "comment") {
        showComment(message);
      }
    });
    socket.addEventListener("close", function () {
      // An instance restarting closes with "going away": come back, a little later each time.
      var wait = delay + Math.random() * delay / 2;
      delay = Math.min(delay * 2, MAX_DELAY);
      window.setTimeout(connect, wait);
    });
  }

  connect();
})();
