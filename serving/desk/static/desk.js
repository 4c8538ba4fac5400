// Exposure timer: counts time on the desk since login and shows the break reminder when due.
// The page works without it (the server renders the minutes and the reminder); no network use.
(function () {
  "use strict";
  var box = document.getElementById("exposure");
  if (!box) { return; }
  var started = Number(box.getAttribute("data-started"));
  var breakMs = Number(box.getAttribute("data-break-minutes")) * 60000;
  var out = document.getElementById("exposure-time");
  var reminder = document.getElementById("break-reminder");
  function tick() {
    var ms = Math.max(0, Date.now() - started);
    var mins = Math.floor(ms / 60000);
    var secs = Math.floor((ms % 60000) / 1000);
    out.textContent = mins + ":" + (secs < 10 ? "0" : "") + secs;
    if (ms >= breakMs) { reminder.hidden = false; box.classList.add("due"); }
  }
  tick();
  window.setInterval(tick, 1000);
}());
