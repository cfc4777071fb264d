// Callytics console: the call page's transcript <-> audio link. No framework; htmx does the rest.
(function () {
  "use strict";

  function setUpPlayer() {
    const player = document.getElementById("player");
    if (!player || player.dataset.ready) return;
    player.dataset.ready = "1";
    const words = Array.from(document.querySelectorAll(".w[data-seek]"));
    const starts = words.map((w) => parseFloat(w.dataset.seek));
    const ends = words.map((w) => parseFloat(w.dataset.end));
    let current = null;

    // The word being spoken at `t`: the last one starting at or before it, while it lasts
    // (plus a short grace so the highlight does not flicker in the gaps between words).
    function wordAt(t) {
      let lo = 0, hi = starts.length - 1, found = -1;
      while (lo <= hi) {
        const mid = (lo + hi) >> 1;
        if (starts[mid] <= t) { found = mid; lo = mid + 1; } else { hi = mid - 1; }
      }
      return found >= 0 && t <= ends[found] + 0.25 ? words[found] : null;
    }

    function highlight() {
      const word = wordAt(player.currentTime);
      if (word === current) return;
      if (current) { current.classList.remove("current"); current.removeAttribute("aria-current"); }
      current = word;
      if (word) {
        word.classList.add("current");
        word.setAttribute("aria-current", "true");
        const box = word.getBoundingClientRect();
        if (box.bottom > window.innerHeight || box.top < 80) word.scrollIntoView({ block: "center", behavior: "smooth" });
      }
    }

    let frame = 0;
    function tick() { highlight(); frame = player.paused ? 0 : requestAnimationFrame(tick); }
    player.addEventListener("play", () => { if (!frame) frame = requestAnimationFrame(tick); });
    player.addEventListener("timeupdate", highlight);
    player.addEventListener("seeked", highlight);

    document.addEventListener("click", (event) => {
      const target = event.target.closest("[data-seek]");
      if (!target) return;
      player.currentTime = parseFloat(target.dataset.seek);
      highlight();
      const playing = player.play();
      if (playing) playing.catch(() => {});  // no audio output (or autoplay refused): the seek still holds
    });
  }

  document.addEventListener("DOMContentLoaded", setUpPlayer);
  document.addEventListener("htmx:afterSettle", setUpPlayer);
})();
