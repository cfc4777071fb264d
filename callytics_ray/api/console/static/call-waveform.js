// The call page's waveform (wavesurfer.js, vendor/) and the playback cursor across the speaker
// lanes. The lanes' turns are buttons with data-seek: console.js seeks the player on a click, as
// for the transcript's words, so there is one player and one seek rule for the whole page.
(function () {
  "use strict";

  function cssColour(name) {
    return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  }

  function setUp() {
    const box = document.getElementById("waveform");
    const player = document.getElementById("player");
    const timeline = document.getElementById("timeline");
    if (!box || !player || !timeline || box.dataset.ready) return;
    box.dataset.ready = "1";
    const duration = parseFloat(timeline.dataset.duration) || 0;

    // The cursor over the lanes and the chart follows the player (the lanes are laid out on the
    // call's duration, which is also the chart's x axis).
    function follow() {
      const total = duration || player.duration || 0;
      const at = total > 0 ? Math.min(1, Math.max(0, player.currentTime / total)) : 0;
      timeline.style.setProperty("--progress", at.toFixed(5));
    }
    ["timeupdate", "seeked", "loadedmetadata"].forEach((e) => player.addEventListener(e, follow));

    if (typeof WaveSurfer === "undefined") {
      box.dataset.error = "wavesurfer.js is missing";
      return;
    }
    // `media`: wavesurfer drives the page's own <audio>, which streams the recording with range
    // requests; for the peaks it fetches and decodes the whole file once more. Fine for calls of
    // minutes; peaks computed by the server would spare that download for long calls.
    const waves = WaveSurfer.create({
      container: box,
      media: player,
      height: 80,
      normalize: true,
      dragToSeek: true,
      waveColor: cssColour("--wave"),
      progressColor: cssColour("--wave-played"),
      cursorColor: cssColour("--fg"),
      cursorWidth: 2,
    });
    waves.on("ready", () => { box.dataset.drawn = "1"; });
    waves.on("error", (err) => {
      box.dataset.error = String(err && err.message ? err.message : err);
      box.classList.add("waveform-failed");
    });
  }

  document.addEventListener("DOMContentLoaded", setUp);
})();
