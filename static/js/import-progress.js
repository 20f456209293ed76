// The background import's progress page: reload every two seconds while it runs.
(function () {
  "use strict";
  if (document.querySelector("[data-import-running]")) {
    window.setTimeout(function () { window.location.reload(); }, 2000);
  }
})();
