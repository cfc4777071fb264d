// The call page while its call runs: the stage states, polled from the API, until the call ends;
// then the page reloads with the result. And Retry, for a failed or partial call.
// The stage rows are the server's (_call_progress.html); this only updates their fields, in the
// same words and number formats.
(function () {
  "use strict";

  const POLL_MS = 1000;
  const FINISHED = ["completed", "partial", "failed"];

  function text(li, selector, value) {
    const el = li.querySelector(selector);
    if (el) el.textContent = value;
  }

  function stageRow(list, stage) {
    let li = list.querySelector(`li[data-stage="${CSS.escape(stage)}"]`);
    if (!li && list.firstElementChild) {
      li = list.firstElementChild.cloneNode(true);
      li.dataset.stage = stage;
      list.appendChild(li);
    }
    return li;
  }

  function showStages(stages) {
    const list = document.getElementById("stages");
    if (!list) return;
    const slowest = Math.max(0, ...stages.map((s) => s.seconds || 0));
    for (const s of stages) {
      const li = stageRow(list, s.stage);
      if (!li) continue;
      li.className = `stage stage-${s.status}`;
      text(li, ".stage-name", s.stage);
      text(li, ".stage-status", s.status);
      text(li, ".stage-secs", s.seconds == null ? "" : `${s.seconds.toFixed(2)} s`);
      text(li, ".stage-attempts", s.attempts > 1 ? `${s.attempts} attempts` : "");
      text(li, ".stage-error", s.error || "");
      const bar = li.querySelector(".stage-bar > span");
      if (bar) bar.style.width = `${slowest > 0 ? (100 * (s.seconds || 0) / slowest).toFixed(1) : 0}%`;
    }
  }

  function show(call) {
    const status = document.getElementById("call-status");
    if (status) {
      status.textContent = call.status;
      status.className = `status status-${call.status}`;
    }
    const running = (call.stages || []).find((s) => s.status === "running");
    const note = document.getElementById("progress-note");
    if (note) {
      note.textContent = FINISHED.includes(call.status)
        ? `The call is ${call.status}; loading its result…`
        : `This call is ${call.status}${running ? `: ${running.stage} is running` : ""}; this page shows the result when it is done.`;
    }
    const error = document.getElementById("call-error");
    if (error && !call.error) error.remove();
    showStages(call.stages || []);
  }

  function follow(page) {
    const url = `/v1/calls/${encodeURIComponent(page.dataset.callId)}?include_result=false`;
    function poll() {
      fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then((r) => (r.ok ? r.json() : Promise.reject(new Error(`HTTP ${r.status}`))))
        .then((call) => {
          show(call);
          if (FINISHED.includes(call.status)) window.location.reload();
          else setTimeout(poll, POLL_MS);
        })
        .catch(() => setTimeout(poll, 3 * POLL_MS));  // the gateway restarting: keep trying, slower
    }
    setTimeout(poll, POLL_MS);
  }

  function setUpRetry(page) {
    const button = document.getElementById("retry");
    if (!button) return;
    button.addEventListener("click", () => {
      button.disabled = true;
      const note = document.getElementById("progress-note");
      if (note) note.textContent = "Starting the call again…";
      fetch(button.dataset.retryUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: { Accept: "application/json", [page.dataset.consoleHeader]: "1" },
      })
        .then((r) => r.json().then((body) => ({ ok: r.ok, body })))
        .then(({ ok, body }) => {
          if (!ok) throw new Error((body.error && body.error.message) || "the retry was refused");
          button.hidden = true;
          show(body);
          follow(page);
        })
        .catch((err) => {
          button.disabled = false;
          if (note) note.textContent = `Retry failed: ${err.message}`;
        });
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    const page = document.getElementById("call-page");
    if (!page) return;
    setUpRetry(page);
    if (page.dataset.running === "true") follow(page);
  });
})();
