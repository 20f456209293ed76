// The comment form on a page every visitor shares (nginx and the page cache keep it): the
// page holds no visitor's XSRF token and no signed "form shown at" time, so this fetches
// them, uncached, from the form's own address (GET answers them as JSON) once the visitor
// starts on the form. Without JavaScript the post comes back as a page to confirm, text kept.
(function () {
  "use strict";
  var form = document.getElementById("comment-form");
  if (!form) { return; }
  var xsrf = form.querySelector("input[name=_xsrf]");
  var shownAt = form.querySelector("input[name=form_time]");
  if (!xsrf || !shownAt) { return; }
  var loading = null;

  function ready() {
    return xsrf.value !== "" && shownAt.value !== "";
  }

  function load() {
    if (ready()) { return Promise.resolve(); }
    if (!loading) {
      loading = fetch(form.getAttribute("action"), {
        credentials: "same-origin",
        cache: "no-store",
        headers: { "Accept": "application/json" }
      }).then(function (response) {
        if (!response.ok) { throw new Error("comment form: " + response.status); }
        return response.json();
      }).then(function (tokens) {
        xsrf.value = tokens.xsrf;
        shownAt.value = tokens.form_time;
        form.setAttribute("data-ready", "yes");
      }).catch(function () {
        loading = null;  // tried again on the next focus; a post without it is confirmed
      });
    }
    return loading;
  }

  form.addEventListener("focusin", load);
  form.addEventListener("submit", function (event) {
    if (ready()) { return; }
    event.preventDefault();
    load().then(function () { form.submit(); });
  });
  if (ready()) { form.setAttribute("data-ready", "yes"); }
}());
