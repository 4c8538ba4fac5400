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

// Risk-strip bars and "moved the score" links jump to a message; when it sits in a folded low-risk
// stretch (a closed <details>), open the stretch first. Chromium also opens it on its own for fragment
// navigation; this covers browsers that do not. Without script every fold still opens with one click.
(function () {
  "use strict";
  function reveal(id) {
    var target = id ? document.getElementById(id) : null;
    if (!target) { return false; }
    var opened = false;
    for (var p = target.parentElement; p; p = p.parentElement) {
      if (p.tagName === "DETAILS" && !p.open) { p.open = true; opened = true; }
    }
    return opened;
  }
  function fromHash() {
    if (reveal(decodeURIComponent(window.location.hash.slice(1)))) {
      document.getElementById(decodeURIComponent(window.location.hash.slice(1))).scrollIntoView();
    }
  }
  document.addEventListener("click", function (event) {
    var link = event.target && event.target.closest ? event.target.closest("a") : null;
    var href = link ? link.getAttribute("href") : null;
    if (href && href.charAt(0) === "#") { reveal(decodeURIComponent(href.slice(1))); }
  });
  window.addEventListener("hashchange", fromHash);
  fromHash();
}());
