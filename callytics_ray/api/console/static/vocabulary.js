// Callytics console: the vocabulary page's changes. Adding, moving or removing a term reads the list in
// force, changes it and stores it with PUT /v1/vocabulary (the session cookie plus the console's
// header, as the upload page sends calls); the API checks the scope and every term, and its reason
// for a refusal is shown beside the form. A stored change reloads the page, which lists the terms.
(function () {
  "use strict";

  const form = document.getElementById("vocabulary-add");
  if (!form) return;
  const input = document.getElementById("vocabulary-term");
  const first = document.getElementById("vocabulary-first");
  const error = document.getElementById("vocabulary-error");
  const url = form.dataset.termsUrl;
  const headers = { Accept: "application/json" };

  // As the API merges terms: spaces collapsed, case ignored.
  const same = (a, b) => a.replace(/\s+/g, " ").trim().toLowerCase() === b.replace(/\s+/g, " ").trim().toLowerCase();

  function showError(message, field) {
    const saved = document.getElementById("vocabulary-saved");
    if (saved) saved.hidden = true;  // about the change before this one
    error.textContent = message;
    error.hidden = false;
    if (field) { field.setAttribute("aria-invalid", "true"); field.focus(); }
  }

  function clearError() {
    error.hidden = true;
    error.textContent = "";
    input.removeAttribute("aria-invalid");
  }

  // The API's reason: the message of its first detail ("Value error, ..." stripped), else its message.
  function reasonOf(status, text) {
    try {
      const body = JSON.parse(text).error;
      const detail = body.details && body.details[0] && body.details[0].msg;
      return (detail || body.message).replace(/^Value error, /, "");
    } catch (e) {
      return `the gateway answered ${status}`;
    }
  }

  function busy(on) {
    for (const button of document.querySelectorAll("#vocabulary-add button, .remove-term, .move-term")) button.disabled = on;
  }

  // Reads the terms in force (not the page's copy: another admin may have changed them since),
  // stores change(terms) and reloads the page; a refusal is shown in the form.
  async function store(change, field) {
    clearError();
    busy(true);
    try {
      const current = await fetch(url, { credentials: "same-origin", headers });
      if (!current.ok) throw new Error(reasonOf(current.status, await current.text()));
      const terms = change((await current.json()).terms || []);
      if (terms === null) return;
      const reply = await fetch(url, {
        method: "PUT", credentials: "same-origin",
        headers: { ...headers, "Content-Type": "application/json", [form.dataset.consoleHeader]: "1" },
        body: JSON.stringify({ terms }),
      });
      const text = await reply.text();
      if (!reply.ok) { showError(`Not saved: ${reasonOf(reply.status, text)}`, field); return; }
      window.location.assign(`${form.dataset.pageUrl}?saved=${JSON.parse(text).version}`);
    } catch (e) {
      showError(`Not saved: ${e.message || "the gateway could not be reached"}`, field);
    } finally {
      busy(false);
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const term = input.value;
    store((terms) => {
      if (term.trim() && terms.some((t) => same(t, term))) {
        showError(`“${term.trim()}” is already in the vocabulary.`, input);
        return null;
      }
      return first.checked ? [term, ...terms] : [...terms, term];
    }, input);
  });

  // One place earlier: recognition gets the leading terms that fit its prompt.
  function movedUp(terms, term) {
    const at = terms.findIndex((t) => same(t, term));
    if (at <= 0) return terms;
    const moved = terms.slice();
    [moved[at - 1], moved[at]] = [moved[at], moved[at - 1]];
    return moved;
  }

  document.addEventListener("click", (event) => {
    const remove = event.target.closest(".remove-term");
    const move = event.target.closest(".move-term");
    if (remove) store((terms) => terms.filter((t) => !same(t, remove.dataset.term)), null);
    else if (move) store((terms) => movedUp(terms, move.dataset.term), null);
  });
})();
