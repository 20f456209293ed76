// The editor's autosave to the server: after a few seconds without typing, the title,
// content and summary are posted (with the XSRF token) to the form's data-autosave-url.
// The server keeps them per article and author; the article itself changes only on Save.
// Another browser opening the editor is offered the newer autosave (a notice, server-side).
(function () {
  "use strict";

  var form = document.getElementById("editor-form");
  if (!form || !form.getAttribute("data-autosave-url")) return;
  var url = form.getAttribute("data-autosave-url");
  var status = document.getElementById("autosave-status");
  var xsrf = form.querySelector("input[name=_xsrf]").value;
  var QUIET_MS = 3000; // save after this much quiet
  var fields = ["title", "content", "summary"];

  var timer = null;
  var inFlight = false;
  var again = false;
  var lastSent = snapshot();

  function snapshot() {
    return fields
      .map(function (name) {
        var field = form.elements[name];
        return field ? field.value : "";
      })
      .join("\u0000");
  }

  function show(text) {
    if (status) status.textContent = text;
  }

  function send() {
    var current = snapshot();
    if (current === lastSent) return;
    if (inFlight) {
      again = true;
      return;
    }
    inFlight = true;
    var body = new URLSearchParams();
    body.append("_xsrf", xsrf);
    fields.forEach(function (name) {
      var field = form.elements[name];
      body.append(name, field ? field.value : "");
    });
    fetch(url, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "X-Requested-With": "XMLHttpRequest" },
    })
      .then(function (response) {
        if (!response.ok) throw new Error(String(response.status));
        return response.json();
      })
      .then(function (answer) {
        lastSent = current;
        show(answer.message || form.getAttribute("data-autosaved"));
      })
      .catch(function () {
        show(form.getAttribute("data-autosave-failed"));
      })
      .then(function () {
        inFlight = false;
        if (again) {
          again = false;
          schedule();
        }
      });
  }

  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(send, QUIET_MS);
  }

  form.addEventListener("input", function (event) {
    if (event.target && fields.indexOf(event.target.name) >= 0) schedule();
  });
  // Saving for real: no autosave may land after it.
  form.addEventListener("submit", function () {
    clearTimeout(timer);
  });
})();
