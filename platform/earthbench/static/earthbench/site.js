/* EarthBench site script: plots, drag-and-drop upload with progress, live
   submission status. Every page works without it; it only enhances. */
(function () {
  "use strict";

  function drawPlots() {
    if (!window.Plotly) return;
    document.querySelectorAll('script[type="application/json"][id$="-data"]').forEach(function (el) {
      var target = document.getElementById(el.id.replace(/-data$/, ""));
      if (!target) return;
      var fig = JSON.parse(el.textContent);
      window.Plotly.newPlot(target, fig.data, fig.layout, { responsive: true, displaylogo: false });
    });
  }

  function confirmForms() {
    document.querySelectorAll("form[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (ev) {
        if (!window.confirm(form.getAttribute("data-confirm"))) ev.preventDefault();
      });
    });
  }

  /* ---- upload: drag and drop, progress bar, JSON answer from the form endpoint */
  function uploadForms() {
    document.querySelectorAll("form[data-upload]").forEach(function (form) {
      var zone = form.querySelector("[data-dropzone]");
      var input = form.querySelector('input[type="file"]');
      var nameEl = form.querySelector("[data-file-name]");
      var wrap = form.querySelector("[data-progress]");
      var bar = wrap && wrap.querySelector("progress");
      var text = wrap && wrap.querySelector("[data-progress-text]");
      var errEl = form.querySelector("[data-upload-error]");
      var button = form.querySelector('button[type="submit"]');

      function showName() {
        if (nameEl) nameEl.textContent = input.files.length ? "Selected: " + input.files[0].name + " (" + input.files[0].size + " bytes)" : "";
      }
      input.addEventListener("change", showName);
      if (zone) {
        ["dragenter", "dragover"].forEach(function (t) {
          zone.addEventListener(t, function (ev) { ev.preventDefault(); zone.classList.add("over"); });
        });
        ["dragleave", "drop"].forEach(function (t) {
          zone.addEventListener(t, function (ev) { ev.preventDefault(); zone.classList.remove("over"); });
        });
        zone.addEventListener("drop", function (ev) {
          if (ev.dataTransfer && ev.dataTransfer.files.length) {
            input.files = ev.dataTransfer.files;
            showName();
          }
        });
      }

      function fail(message) {
        errEl.textContent = message;
        errEl.hidden = false;
        button.disabled = false;
        if (wrap) wrap.hidden = true;
      }

      form.addEventListener("submit", function (ev) {
        if (!window.FormData || !window.XMLHttpRequest) return; // plain POST
        ev.preventDefault();
        errEl.hidden = true;
        button.disabled = true;
        var xhr = new XMLHttpRequest();
        xhr.open("POST", form.action);
        xhr.setRequestHeader("Accept", "application/json");
        if (wrap) { wrap.hidden = false; bar.value = 0; text.textContent = "0%"; }
        xhr.upload.addEventListener("progress", function (e) {
          if (!e.lengthComputable || !bar) return;
          var pct = Math.round((100 * e.loaded) / e.total);
          bar.value = pct; bar.textContent = pct + "%"; text.textContent = pct + "%";
        });
        xhr.upload.addEventListener("load", function () {
          if (text) text.textContent = "100% — uploaded, validating…";
        });
        xhr.addEventListener("load", function () {
          var data = null;
          try { data = JSON.parse(xhr.responseText); } catch (e) { data = null; }
          if (data && data.ok) { window.location.assign(data.redirect); return; }
          if (data && data.error) { fail(data.error); return; }
          if (xhr.responseURL && xhr.responseURL !== form.action) { window.location.assign(xhr.responseURL); return; }
          fail("The upload failed (HTTP " + xhr.status + "). Try again.");
        });
        xhr.addEventListener("error", function () { fail("Network error during the upload. Try again."); });
        xhr.send(new FormData(form));
      });
    });
  }

  /* ---- live status: poll /submissions/<id>/status.json for unfinished rows */
  function formatScore(row, value) {
    if (typeof value !== "number") return "—";
    return row.getAttribute("data-percent") === "1" ? (100 * value).toFixed(2) + "%" : value.toFixed(4);
  }

  function applyStatus(row, d) {
    var st = row.querySelector("[data-status]");
    if (st) { st.textContent = d.status; st.className = "status status-" + d.status; }
    var err = row.querySelector("[data-error]");
    if (err) { err.textContent = d.error || ""; err.hidden = !d.error; }
    var log = row.querySelector("[data-log]");
    if (log && d.log_tail) { log.textContent = d.log_tail; row.querySelector("[data-log-wrap]").hidden = false; }
    var score = row.querySelector("[data-score]");
    if (score) {
      var pub = (d.scores || []).filter(function (s) { return s.split === "public"; })[0];
      if (pub) score.textContent = formatScore(row, pub.primary_value);
    }
    var sel = row.querySelector("[data-select]");
    if (sel && d.status === "scored") sel.hidden = false;
  }

  function pollRow(row, delay) {
    var url = row.getAttribute("data-status-url");
    window.setTimeout(function () {
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
        .then(function (d) {
          applyStatus(row, d);
          if (d.finished) {
            row.setAttribute("data-finished", "true");
            if (row.hasAttribute("data-reload-on-finish")) window.location.reload();
          } else {
            pollRow(row, Math.min(delay * 1.3, 10000));
          }
        })
        .catch(function () { pollRow(row, 5000); });
    }, delay);
  }

  function liveStatus() {
    document.querySelectorAll('[data-status-url][data-finished="false"]').forEach(function (row) {
      pollRow(row, 1000);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    drawPlots();
    confirmForms();
    uploadForms();
    liveStatus();
  });
})();
