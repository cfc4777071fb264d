// Callytics console: the upload page. Each dropped or chosen file is posted to POST /v1/calls
// (XMLHttpRequest, for the upload's progress events), then its call is followed stage by stage.
(function () {
  "use strict";

  const POLL_MS = 1500;
  const FINISHED = new Set(["completed", "partial", "failed"]);
  const STAGE_DONE = new Set(["done", "skipped"]);

  function sizeText(bytes) {
    if (bytes < 1024) return bytes + " B";
    if (bytes < 1024 * 1024) return (bytes / 1024).toFixed(0) + " KB";
    return (bytes / 1024 / 1024).toFixed(1) + " MB";
  }

  // The API's reason: every error body is {"error": {"code", "message"}}.
  function reasonOf(status, text) {
    try {
      const body = JSON.parse(text);
      if (body && body.error && body.error.message) return body.error.message;
    } catch (e) { /* not JSON: a proxy's page, say */ }
    return "the request failed (HTTP " + status + ")";
  }

  // The options as the form holds them now; empty fields are left to the API's defaults.
  function optionsOf(form) {
    const options = [];
    for (const el of form.querySelectorAll("[name]")) {
      const value = el.value.trim();
      if (value !== "") options.push([el.name, value]);
    }
    return options;
  }

  class UploadRow {
    constructor(list, template, file) {
      this.el = template.content.firstElementChild.cloneNode(true);
      this.el.dataset.file = file.name;
      this.q = (sel) => this.el.querySelector(sel);
      this.q(".upload-name").textContent = file.name;
      this.q(".upload-size").textContent = sizeText(file.size);
      this.q(".upload-progress").setAttribute("aria-label", "Upload of " + file.name);
      list.prepend(this.el);
    }

    state(text, status) {
      const badge = this.q(".upload-state");
      badge.textContent = text;
      badge.className = "status upload-state status-" + (status || text);
      this.el.dataset.state = status || text;
    }

    progress(fraction) {
      const pct = Math.round(Math.min(1, Math.max(0, fraction)) * 100);
      this.q(".upload-progress").value = pct;
      this.q(".upload-percent").textContent = pct + " %";
    }

    fail(message) {
      const error = this.q(".upload-error");
      error.textContent = message;
      error.hidden = false;
    }

    accepted(call) {
      this.el.dataset.callId = call.id;
      const link = this.q(".upload-link");
      link.href = "/console/calls/" + encodeURIComponent(call.id);
      link.hidden = false;
    }

    stages(call) {
      const list = this.q(".stages");
      list.hidden = !(call.stages && call.stages.length);
      list.replaceChildren(...(call.stages || []).map((s) => {
        const item = document.createElement("li");
        item.className = "stage stage-" + s.status;
        item.dataset.stage = s.stage;
        item.dataset.status = s.status;
        const name = document.createElement("span");
        name.className = "stage-name";
        name.textContent = s.stage;
        const status = document.createElement("span");
        status.className = "stage-status";
        status.textContent = s.status + (s.seconds != null ? " · " + s.seconds.toFixed(1) + " s" : "");
        item.append(name, " ", status);
        if (s.error) item.title = s.error;
        return item;
      }));
      const done = (call.stages || []).filter((s) => STAGE_DONE.has(s.status)).length;
      list.setAttribute("aria-label", "Stages: " + done + " of " + (call.stages || []).length + " done");
    }
  }

  function follow(row, callId) {
    const url = "/v1/calls/" + encodeURIComponent(callId) + "?include_result=false";
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then((response) => response.text().then((text) => ({ response, text })))
      .then(({ response, text }) => {
        if (!response.ok) {
          row.fail(reasonOf(response.status, text));
          row.state("unknown");
          return;
        }
        const call = JSON.parse(text);
        row.stages(call);
        row.state(call.status);
        if (FINISHED.has(call.status)) {
          if (call.error) row.fail(call.error);
          return;
        }
        setTimeout(() => follow(row, callId), POLL_MS);
      })
      .catch(() => setTimeout(() => follow(row, callId), POLL_MS * 2));  // the gateway restarting: try on
  }

  function send(form, row, file) {
    const body = new FormData();
    for (const [name, value] of optionsOf(form)) body.append(name, value);
    body.append(form.dataset.fileField || "file", file, file.name);
    const xhr = new XMLHttpRequest();
    xhr.open("POST", "/v1/calls");
    xhr.setRequestHeader("X-Callytics-Console", "1");
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.onprogress = (e) => { if (e.lengthComputable) row.progress(e.loaded / e.total); };
    xhr.upload.onload = () => { row.progress(1); row.state("checking"); };
    xhr.onload = () => {
      if (xhr.status === 200 || xhr.status === 202) {
        row.progress(1);
        const call = JSON.parse(xhr.responseText);
        row.accepted(call);
        row.stages(call);
        row.state(call.status);
        follow(row, call.id);
      } else {
        row.state("refused", "failed");
        row.fail(reasonOf(xhr.status, xhr.responseText));
      }
    };
    xhr.onerror = () => { row.state("error", "failed"); row.fail("the gateway could not be reached"); };
    row.state("uploading", "processing");
    xhr.send(body);
  }

  function setUp() {
    const form = document.getElementById("upload-form");
    if (!form || form.dataset.ready) return;
    form.dataset.ready = "1";
    const input = document.getElementById("files");
    const zone = document.getElementById("dropzone");
    const list = document.getElementById("uploads");
    const template = document.getElementById("upload-row");

    function upload(files) {
      for (const file of files) send(form, new UploadRow(list, template, file), file);
    }

    input.addEventListener("change", () => {
      upload(Array.from(input.files));
      input.value = "";  // the same file chosen again is a new upload
    });
    form.addEventListener("submit", (e) => e.preventDefault());
    for (const type of ["dragenter", "dragover"]) {
      zone.addEventListener(type, (e) => { e.preventDefault(); zone.classList.add("dragging"); });
    }
    for (const type of ["dragleave", "drop"]) {
      zone.addEventListener(type, () => zone.classList.remove("dragging"));
    }
    zone.addEventListener("drop", (e) => {
      e.preventDefault();
      if (e.dataTransfer && e.dataTransfer.files.length) upload(Array.from(e.dataTransfer.files));
    });
  }

  document.addEventListener("DOMContentLoaded", setUp);
})();
