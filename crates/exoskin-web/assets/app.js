// exoskin web app: photo OCR on /label, camera QR on /scan, trial jobs with live progress.
"use strict";
(function () {
  function $(id) { return document.getElementById(id); }
  function say(el, text) { if (el) { el.textContent = text; } }

  async function postBlob(url, blob) {
    const r = await fetch(url, { method: "POST", body: blob, headers: { "Content-Type": blob.type || "application/octet-stream" } });
    let body = null;
    try { body = await r.json(); } catch (e) { body = { message: "unexpected answer " + r.status }; }
    return { status: r.status, body: body };
  }

  // /label: a photo goes through OCR; the text read is decoded like a pasted list.
  const photo = $("label-photo");
  if (photo) {
    photo.addEventListener("change", async function () {
      const f = photo.files && photo.files[0];
      if (!f) { return; }
      const status = $("ocr-status");
      say(status, "Reading the photo ...");
      const r = await postBlob("/api/v1/label/ocr", f);
      if (r.status !== 200) { say(status, r.body.message || "The photo could not be read."); return; }
      $("label-text").value = r.body.text.trim();
      say(status, "Read " + r.body.text.trim().length + " characters; decoding ...");
      $("label-form").submit();
    });
  }

  // /scan: camera frames or an uploaded photo go to the server's QR decoder.
  function openLink(body) { window.location.assign(body.path); }
  const start = $("start-camera");
  if (start) {
    const status = $("scan-status");
    const video = $("video");
    const canvas = $("frame");
    let busy = false;
    let timer = null;
    async function tick() {
      if (busy || !video.videoWidth) { return; }
      busy = true;
      canvas.width = video.videoWidth;
      canvas.height = video.videoHeight;
      canvas.getContext("2d").drawImage(video, 0, 0);
      canvas.toBlob(async function (blob) {
        try {
          const r = await postBlob("/api/v1/qr", blob);
          if (r.status === 200) {
            clearInterval(timer);
            say(status, "Code read: opening the certificate ...");
            openLink(r.body);
          }
        } finally { busy = false; }
      }, "image/png");
    }
    start.addEventListener("click", async function () {
      if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
        say(status, "This browser cannot use the camera here; upload a photo instead.");
        return;
      }
      try {
        const stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false });
        video.srcObject = stream;
        video.classList.add("on");
        await video.play();
        say(status, "Looking for a QR code ...");
        timer = setInterval(tick, 500);
      } catch (e) {
        say(status, "The camera could not be started (" + e.name + "); upload a photo instead.");
      }
    });
    $("qr-photo").addEventListener("change", async function () {
      const f = this.files && this.files[0];
      if (!f) { return; }
      say(status, "Reading the code ...");
      const r = await postBlob("/api/v1/qr", f);
      if (r.status === 200) { openLink(r.body); } else { say(status, r.body.message || "No code found."); }
    });
  }

  // /trial: the trial or power runs as a job; progress arrives as server-sent events. The
  // result opens as a page (its job in the URL), drawn by the server.
  const form = $("trial-form");
  if (form) {
    const bar = $("job-progress");
    const status = $("job-status");
    const cancel = $("cancel-job");
    let current = null;
    // An uploaded trial file's text replaces the bundled choice.
    let uploaded = null;
    $("trial-file").addEventListener("change", async function (e) {
      const f = e.target.files[0];
      uploaded = f ? await f.text() : null;
      $("trial-name").disabled = uploaded !== null;
    });
    // A message at the form field it is about (or none, to clear it).
    function fieldError(input, message) {
      const id = input.id + "-error";
      let p = $(id);
      const box = input.closest(".field");
      if (!message) {
        if (p) { p.remove(); }
        input.removeAttribute("aria-invalid");
        input.removeAttribute("aria-describedby");
        if (box) { box.classList.remove("invalid"); }
        return;
      }
      if (!p) {
        p = document.createElement("p");
        p.className = "field-error";
        p.id = id;
        input.insertAdjacentElement("afterend", p);
      }
      p.textContent = message;
      input.setAttribute("aria-invalid", "true");
      input.setAttribute("aria-describedby", id);
      if (box) { box.classList.add("invalid"); }
    }
    function clearErrors() {
      form.querySelectorAll("input, select").forEach(function (i) { if (i.id) { fieldError(i, null); } });
    }
    // The power fields within the server's limits (their data-min and data-max), as the
    // server checks them: the first bad one gets its message and the focus.
    function powerFields() {
      const out = {};
      let bad = null;
      ["power-replicates", "power-max-participants"].forEach(function (id) {
        const input = $(id);
        const raw = input.value.trim();
        if (!raw) { return; }
        const lo = Number(input.dataset.min);
        const hi = Number(input.dataset.max);
        let message = null;
        if (!/^[0-9]+$/.test(raw)) {
          message = input.dataset.label + ": `" + raw + "` is not a whole number";
        } else if (Number(raw) < lo || Number(raw) > hi) {
          message = input.dataset.label + ": " + Number(raw) + " is outside this server's range " + lo + " to " + hi;
        } else {
          out[input.name] = Number(raw);
        }
        fieldError(input, message);
        if (message && !bad) { bad = input; }
      });
      if (bad) { bad.focus(); return null; }
      return out;
    }
    function body(extra) {
      const b = uploaded !== null ? { toml: uploaded } : { name: $("trial-name").value };
      const n = $("trial-participants").value.trim();
      const s = $("trial-seed").value.trim();
      if (n) { b.participants = Number(n); }
      if (s) { b.seed = Number(s); }
      return Object.assign(b, extra || {});
    }
    // The page's URL for the form's inputs and the jobs to show.
    function pageUrl(b, jobs, anchor) {
      const q = new URLSearchParams(window.location.search);
      const set = function (k, v) { if (v === undefined || v === null || v === "") { q.delete(k); } else { q.set(k, v); } };
      set("name", b.name);
      set("participants", b.participants);
      set("seed", b.seed);
      set("replicates", $("power-replicates").value.trim());
      set("max_participants", $("power-max-participants").value.trim());
      Object.keys(jobs).forEach(function (k) { set(k, jobs[k]); });
      return "/trial?" + q.toString() + anchor;
    }
    async function start(url, payload, done) {
      clearErrors();
      const r = await fetch(url, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(payload) });
      const j = await r.json();
      $("progress-box").hidden = false;
      if (r.status !== 202) {
        const input = j.field === "toml" ? $("trial-file") : (j.field ? form.querySelector("[name=\"" + j.field + "\"]") : null);
        if (input && input.id) { fieldError(input, j.message); input.focus(); }
        say(status, (j.field ? j.field + ": " : "") + j.message);
        return;
      }
      current = j.job;
      cancel.hidden = false;
      const es = new EventSource(j.events);
      function show(ev) {
        const v = JSON.parse(ev.data);
        if (v.total > 0) { bar.max = v.total; bar.value = v.done; } else { bar.removeAttribute("value"); }
        say(status, v.status + ": " + v.message + (v.total > 0 ? " (" + v.done + " of " + v.total + ")" : ""));
        return v;
      }
      es.addEventListener("progress", show);
      es.addEventListener("done", function (ev) { es.close(); cancel.hidden = true; const v = show(ev); bar.max = 1; bar.value = 1; done(v); });
      es.addEventListener("failed", function (ev) { es.close(); cancel.hidden = true; const v = show(ev); say(status, "failed: " + (v.error ? v.error.message : "")); });
      es.addEventListener("cancelled", function (ev) { es.close(); cancel.hidden = true; show(ev); });
      // The server closes a stream after a while; EventSource reconnects by itself unless
      // the job is gone.
      es.onerror = function () { if (es.readyState === EventSource.CLOSED) { es.close(); } };
    }
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      const b = body();
      start("/api/v1/trial", b, function (v) {
        window.location.assign(pageUrl(b, { job: v.id }, "#trial-result"));
      });
    });
    $("run-power").addEventListener("click", function () {
      clearErrors();
      const limits = powerFields();
      if (limits === null) { return; }
      const b = body(limits);
      start("/api/v1/power", b, function (v) {
        window.location.assign(pageUrl(b, { power_job: v.id }, "#power-result"));
      });
    });
    cancel.addEventListener("click", function () {
      if (current) { fetch("/api/v1/jobs/" + current, { method: "DELETE" }); }
    });
  }
})();
