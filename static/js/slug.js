// The editor's slug field follows the title (the server makes the slug: Chinese becomes
// pinyin) until the author types in it; an empty field is filled again on save.
(function () {
  "use strict";

  var slug = document.getElementById("slug");
  var title = document.getElementById("title");
  if (!slug || !title) {
    return;
  }
  var automatic = slug.getAttribute("data-auto") === "1";
  var timer = null;
  var asked = 0;

  slug.addEventListener("input", function () {
    automatic = slug.value.trim() === "";
  });

  title.addEventListener("input", function () {
    if (!automatic) {
      return;
    }
    window.clearTimeout(timer);
    timer = window.setTimeout(fill, 300);
  });

  function fill() {
    var question = ++asked;
    var url = slug.getAttribute("data-slug-url") + "?title=" + encodeURIComponent(title.value);
    fetch(url, { credentials: "same-origin", headers: { "X-Requested-With": "XMLHttpRequest" } })
      .then(function (response) {
        return response.ok ? response.json() : null;
      })
      .then(function (answer) {
        // Only the answer to the latest title counts, and only while the author has not typed.
        if (answer && question === asked && automatic) {
          slug.value = answer.slug;
        }
      })
      .catch(function () {});
  }
})();
