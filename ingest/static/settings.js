// Progressive enhancement of the settings page; every form works without it.
// - AI options become editable as soon as "AI Assist" is ticked (saving is still what counts).
// - The caller-card preview follows the card choices live.
(function () {
  "use strict";
  var assist = document.getElementById("ai-assist");
  var aiFields = document.getElementById("ai-fields");
  if (assist && aiFields) {
    assist.addEventListener("change", function () {
      aiFields.disabled = !assist.checked;
      var note = document.getElementById("ai-needs-assist");
      if (note) note.hidden = assist.checked;
    });
  }

  var preview = document.getElementById("card-preview");
  var items = document.getElementById("preview-items");
  var form = document.getElementById("settings-form");
  if (!preview || !items || !form) return;

  function line(cls, text, label) {
    var p = document.createElement("p");
    p.className = cls;
    if (label) {
      var span = document.createElement("span");
      span.className = "label";
      span.textContent = label;
      p.appendChild(span);
      p.appendChild(document.createTextNode(" "));
    }
    p.appendChild(document.createTextNode(text));
    return p;
  }

  var pending = null;
  function refresh() {
    var mode = (form.querySelector("input[name=card_mode]:checked") || {}).value || "default";
    var fields = Array.prototype.map.call(form.querySelectorAll("select[name=card_field]"), function (s) {
      return s.value;
    }).filter(Boolean);
    var url = preview.getAttribute("data-url") + "?card_mode=" + encodeURIComponent(mode) +
      "&card_field=" + encodeURIComponent(fields.join(","));
    if (pending) pending.abort();
    pending = new AbortController();
    fetch(url, { credentials: "same-origin", signal: pending.signal })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (body) {
        if (!body || body.unavailable) return;
        items.textContent = "";
        body.items.forEach(function (item) {
          items.appendChild(item.type === "title" ? line("card-title", item.text) : line("card-line", item.text, item.label));
        });
        items.hidden = false;
        items.setAttribute("data-live", "1");
      })
      .catch(function () { /* the server-rendered preview stays */ });
  }
  form.addEventListener("change", function (event) {
    var name = event.target && event.target.name;
    if (name === "card_mode" || name === "card_field") refresh();
  });
})();
