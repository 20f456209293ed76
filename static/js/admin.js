// The admin's small helpers: confirmations, "select all" for bulk actions, copy fields.
(function () {
  "use strict";

  // A form with data-confirm asks before it submits.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute("data-confirm");
    var submitter = event.submitter;
    if (form.hasAttribute("data-bulk")) {
      var action = form.querySelector("select[name=action]");
      var chosen = document.querySelectorAll("input[name=ids][form='" + form.id + "']:checked");
      if (chosen.length === 0) {
        event.preventDefault();
        return;
      }
      if (action && action.value === "delete" && submitter) {
        question = submitter.getAttribute("data-confirm-delete");
      }
    }
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  });

  // "Select all" ticks every checkbox that belongs to the same bulk form.
  document.querySelectorAll("[data-select-all]").forEach(function (box) {
    var form = box.closest("form");
    box.addEventListener("change", function () {
      document.querySelectorAll("input[name=ids][form='" + form.id + "']").forEach(function (item) {
        item.checked = box.checked;
      });
    });
  });

  document.querySelectorAll("[data-select-on-focus]").forEach(function (field) {
    field.addEventListener("focus", function () { field.select(); });
  });

  document.documentElement.classList.add("js");
})();
