// The article editor: live preview, Ctrl/Cmd+S, a draft kept in localStorage,
// a warning before leaving with unsaved changes, and image upload (button, drop, paste).
(function () {
  "use strict";

  var form = document.getElementById("editor-form");
  if (!form) return;
  var content = form.querySelector("#content");
  var preview = document.getElementById("preview");
  var notice = document.getElementById("draft-notice");
  var uploadStatus = document.getElementById("upload-status");
  var draftKey = form.getAttribute("data-draft-key");
  var serverUpdated = Number(form.getAttribute("data-updated")) || 0;
  var xsrf = form.querySelector("input[name=_xsrf]").value;
  var fields = [
    "title", "content", "summary", "tags", "category_id", "source_id", "publish_at", "featured_image",
  ];
  var PREVIEW_DELAY_MS = 300;
  var AUTOSAVE_DELAY_MS = 500;

  var dirty = false;
  var submitting = false;
  var serverValues = readForm();

  function readForm() {
    var values = {};
    fields.forEach(function (name) {
      var field = form.elements[name];
      if (field) values[name] = field.value;
    });
    var status = form.querySelector("input[name=status]:checked");
    values.status = status ? status.value : "draft";
    return values;
  }

  function writeForm(values) {
    fields.forEach(function (name) {
      var field = form.elements[name];
      if (field && typeof values[name] === "string") field.value = values[name];
    });
    var status = form.querySelector("input[name=status][value='" + values.status + "']");
    if (status) status.checked = true;
  }

  // The summary is left out: the server fills an empty one from the first paragraph.
  function sameText(a, b) {
    return a.title === b.title && a.content === b.content;
  }

  // --- the draft kept by this browser --------------------------------------------------

  function storage() {
    try {
      return window.localStorage;
    } catch (error) {
      return null; // storage disabled: the editor still works, without autosave
    }
  }

  function loadDraft(key) {
    var store = storage();
    if (!store) return null;
    try {
      return JSON.parse(store.getItem(key) || "null");
    } catch (error) {
      return null;
    }
  }

  function forget(key) {
    var store = storage();
    if (store) store.removeItem(key);
  }

  var autosaveTimer = null;
  function scheduleAutosave() {
    clearTimeout(autosaveTimer);
    autosaveTimer = setTimeout(function () {
      var store = storage();
      if (!store) return;
      var draft = readForm();
      draft.savedAt = Date.now();
      try {
        store.setItem(draftKey, JSON.stringify(draft));
      } catch (error) {
        // Storage full: nothing else to do; the beforeunload warning still protects the text.
      }
    }, AUTOSAVE_DELAY_MS);
  }

  function restoreDraft() {
    if (form.getAttribute("data-refused") === "1") {
      // The server refused this text and showed it again: it is not saved anywhere yet.
      dirty = true;
      scheduleAutosave();
      return;
    }
    // A draft equal to what the server has is saved already (also the "new" draft once saved).
    ["inkwell:draft:new", "inkwell:draft:new-page", draftKey].forEach(function (key) {
      var draft = loadDraft(key);
      if (draft && sameText(draft, serverValues)) forget(key);
    });
    var draft = loadDraft(draftKey);
    if (!draft || draft.savedAt <= serverUpdated) return;
    writeForm(draft);
    dirty = true;
    notice.querySelector("[data-text-restored]").textContent =
      notice.querySelector("[data-text-restored]").getAttribute("data-text-restored");
    notice.hidden = false;
  }

  document.getElementById("discard-draft").addEventListener("click", function () {
    forget(draftKey);
    writeForm(serverValues);
    dirty = false;
    notice.hidden = true;
    refreshPreview();
  });

  // --- live preview --------------------------------------------------------------------

  var previewTimer = null;
  var previewSeq = 0;
  function refreshPreview() {
    var seq = ++previewSeq;
    var body = new FormData();
    body.append("_xsrf", xsrf);
    body.append("content", content.value);
    fetch(form.getAttribute("data-preview-url"), {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "X-Requested-With": "XMLHttpRequest" },
    })
      .then(function (response) {
        if (!response.ok) throw new Error(String(response.status));
        return response.text();
      })
      .then(function (html) {
        // Only the newest answer counts: an old, slow one must not overwrite it.
        if (seq === previewSeq) preview.innerHTML = html;
      })
      .catch(function () {
        /* the next keystroke tries again */
      });
  }

  function schedulePreview() {
    clearTimeout(previewTimer);
    previewTimer = setTimeout(refreshPreview, PREVIEW_DELAY_MS);
  }

  form.addEventListener("input", function (event) {
    dirty = true;
    scheduleAutosave();
    if (event.target === content) schedulePreview();
  });
  form.addEventListener("change", function () {
    dirty = true;
    scheduleAutosave();
  });

  // --- saving and leaving --------------------------------------------------------------

  form.addEventListener("submit", function (event) {
    if (event.submitter && event.submitter.getAttribute("formaction")) return;
    submitting = true;
  });

  document.addEventListener("keydown", function (event) {
    if ((event.ctrlKey || event.metaKey) && (event.key === "s" || event.key === "S")) {
      event.preventDefault();
      submitting = true;
      if (form.requestSubmit) form.requestSubmit(document.getElementById("save"));
      else form.submit();
    }
  });

  window.addEventListener("beforeunload", function (event) {
    if (dirty && !submitting) {
      event.preventDefault();
      event.returnValue = form.getAttribute("data-unsaved");
      return event.returnValue;
    }
    return undefined;
  });

  // --- images: button, drop, paste -----------------------------------------------------

  // An image goes in a paragraph of its own: a blank line before and after it.
  function insertAtCursor(text) {
    var start = content.selectionStart;
    var end = content.selectionEnd;
    var before = content.value.slice(0, start);
    var after = content.value.slice(end);
    var lead = !before || /\n\n$/.test(before) ? "" : /\n$/.test(before) ? "\n" : "\n\n";
    var trail = /^\n\n/.test(after) ? "" : /^\n/.test(after) ? "\n" : "\n\n";
    var padded = lead + text + trail;
    content.value = before + padded + after;
    content.selectionStart = content.selectionEnd = start + padded.length;
    content.focus();
    dirty = true;
    scheduleAutosave();
    schedulePreview();
  }

  function upload(file, status, onDone) {
    status = status || uploadStatus;
    onDone = onDone || function (data) { insertAtCursor(data.markdown); };
    var body = new FormData();
    body.append("_xsrf", xsrf);
    body.append("file", file, file.name || "pasted-image.png");
    status.textContent = form.getAttribute("data-uploading");
    return fetch(form.getAttribute("data-upload-url"), {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "X-Requested-With": "XMLHttpRequest", Accept: "application/json" },
    })
      .then(function (response) {
        return response.json().then(function (data) {
          if (!response.ok) throw new Error(data.error || form.getAttribute("data-upload-failed"));
          return data;
        });
      })
      .then(function (data) {
        status.textContent = "";
        onDone(data);
      })
      .catch(function (error) {
        status.textContent = error.message || form.getAttribute("data-upload-failed");
      });
  }

  // --- the featured image: chosen from the library, or uploaded here -------------------

  var featuredChoices = document.getElementById("featured-choices");
  var featuredFile = document.getElementById("featured-file");
  function addFeaturedChoice(data) {
    var label = document.createElement("label");
    label.className = "featured-choice";
    var radio = document.createElement("input");
    radio.type = "radio";
    radio.name = "featured_image";
    radio.value = String(data.id);
    var image = document.createElement("img");
    image.src = data.thumbnail;
    image.alt = data.alt;
    label.appendChild(radio);
    label.appendChild(document.createTextNode(" "));
    label.appendChild(image);
    // Right after "None": the newest image first, as the server lists them.
    featuredChoices.insertBefore(label, featuredChoices.children[1] || null);
    radio.checked = true;
    dirty = true;
    scheduleAutosave();
  }
  if (featuredFile && featuredChoices) {
    featuredFile.addEventListener("change", function () {
      imagesOf(featuredFile.files).slice(0, 1).forEach(function (file) {
        upload(file, document.getElementById("featured-status"), addFeaturedChoice);
      });
      featuredFile.value = "";
    });
  }

  function imagesOf(list) {
    return Array.prototype.filter.call(list || [], function (file) {
      return /^image\//.test(file.type);
    });
  }

  var picker = document.getElementById("image-file");
  picker.addEventListener("change", function () {
    imagesOf(picker.files).forEach(function (file) { upload(file); });
    picker.value = "";
  });

  content.addEventListener("dragover", function (event) {
    if (event.dataTransfer && Array.prototype.indexOf.call(event.dataTransfer.types, "Files") >= 0) {
      event.preventDefault();
      content.classList.add("dropping");
    }
  });
  content.addEventListener("dragleave", function () {
    content.classList.remove("dropping");
  });
  content.addEventListener("drop", function (event) {
    var files = imagesOf(event.dataTransfer && event.dataTransfer.files);
    content.classList.remove("dropping");
    if (files.length) {
      event.preventDefault();
      files.forEach(function (file) { upload(file); });
    }
  });
  content.addEventListener("paste", function (event) {
    var files = imagesOf(event.clipboardData && event.clipboardData.files);
    if (files.length) {
      event.preventDefault();
      files.forEach(function (file) { upload(file); });
    }
  });

  restoreDraft();
  refreshPreview();
})();
