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
        if (form.hasAttribute("data-chunked") && chunkedSupported() && input.files.length) {
          ev.preventDefault();
          errEl.hidden = true;
          button.disabled = true;
          if (wrap) { wrap.hidden = false; bar.value = 0; text.textContent = "0%"; }
          chunkedUpload(form, input.files[0], {
            progress: function (done, total, note) {
              if (!bar) return;
              var pct = total ? Math.round((100 * done) / total) : 100;
              bar.value = pct; bar.textContent = pct + "%";
              text.textContent = pct + "%" + (note ? " — " + note : "");
            },
            validating: function () { if (text) text.textContent = "100% — uploaded, validating…"; }
          }).then(function (d) {
            if (d && d.ok) { window.location.assign(d.redirect); return; }
            fail((d && d.error) || "The bundle was refused.");
          }).catch(function (e) { fail((e && e.message) || String(e)); });
          return;
        }
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

  /* ---- resumable upload (forms with data-chunked): the chunked-upload API
     (/api/v1/uploads/), the upload id kept in localStorage so that submitting the
     same file again after a failure resumes from the server's offset; then the
     form's own endpoint gets upload=<id>. */
  function chunkedSupported() {
    return !!(window.fetch && window.FormData && window.localStorage && window.crypto &&
      window.crypto.subtle && window.Blob && window.Blob.prototype.slice);
  }

  function toHex(buf) {
    return Array.prototype.map.call(new Uint8Array(buf), function (b) {
      return ("0" + b.toString(16)).slice(-2);
    }).join("");
  }

  function chunkedUpload(form, file, ui) {
    var csrf = form.querySelector('input[name="csrfmiddlewaretoken"]').value;
    var chunk = parseInt(form.getAttribute("data-chunk-size") || "8388608", 10);
    var key = "eb-upload:" + file.name + ":" + file.size + ":" + file.lastModified;
    var abortAfter = window.EB_TEST_ABORT_AFTER_CHUNKS || 0; // test hook
    var sent = 0;
    var resumedAt = 0;

    function api(method, url, body, type, extra) {
      var headers = { "X-CSRFToken": csrf, Accept: "application/json" };
      if (type) headers["Content-Type"] = type;
      Object.keys(extra || {}).forEach(function (k) { headers[k] = extra[k]; });
      return fetch(url, { method: method, credentials: "same-origin", headers: headers, body: body })
        .then(function (r) {
          return r.json().catch(function () { return {}; }).then(function (d) {
            return { ok: r.ok, status: r.status, data: d };
          });
        });
    }
    function errorOf(res) {
      var e = res.data && res.data.error;
      return (e && (e.message || e)) || "HTTP " + res.status;
    }
    function create() {
      return api("POST", "/api/v1/uploads/", JSON.stringify({ filename: file.name, size: file.size }),
        "application/json").then(function (res) {
        if (!res.ok) throw new Error(errorOf(res));
        window.localStorage.setItem(key, res.data.id);
        return res.data;
      });
    }
    function start() {
      var saved = window.localStorage.getItem(key);
      if (!saved) return create();
      return api("GET", "/api/v1/uploads/" + saved + "/").then(function (res) {
        if (res.ok && res.data.status !== "consumed") { resumedAt = res.data.offset; return res.data; }
        window.localStorage.removeItem(key);
        return create();
      });
    }
    function send(up) {
      ui.progress(up.offset, file.size, resumedAt ? "resumed at " + resumedAt + " bytes" : "");
      if (up.status !== "open" || up.offset >= file.size) return complete(up);
      if (abortAfter && sent >= abortAfter) {
        throw new Error("The upload was interrupted at " + up.offset + " bytes; submit the same file again to resume.");
      }
      var end = Math.min(up.offset + chunk, file.size);
      return api("PUT", "/api/v1/uploads/" + up.id + "/", file.slice(up.offset, end),
        "application/octet-stream", { "Upload-Offset": String(up.offset) }).then(function (res) {
        if (res.status === 409) {
          return api("GET", "/api/v1/uploads/" + up.id + "/").then(function (r2) { return send(r2.data); });
        }
        if (!res.ok) throw new Error(errorOf(res));
        sent += 1;
        return send(res.data);
      });
    }
    function complete(up) {
      if (up.status === "complete") return Promise.resolve(up);
      return file.arrayBuffer().then(function (b) { return window.crypto.subtle.digest("SHA-256", b); })
        .then(function (digest) {
          return api("POST", "/api/v1/uploads/" + up.id + "/complete/", JSON.stringify({ sha256: toHex(digest) }),
            "application/json");
        }).then(function (res) {
          if (!res.ok) { window.localStorage.removeItem(key); throw new Error(errorOf(res)); }
          return res.data;
        });
    }
    function finish(up) {
      ui.validating();
      var fd = new FormData();
      fd.append("csrfmiddlewaretoken", csrf);
      fd.append("upload", up.id);
      return fetch(form.action, { method: "POST", credentials: "same-origin", headers: { Accept: "application/json" }, body: fd })
        .then(function (r) { return r.json(); })
        .then(function (d) { window.localStorage.removeItem(key); return d; });
    }
    return start().then(send).then(finish);
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
