// Staff pages (signed in) only; every page works without this file, and the server ends an idle
// session by itself. This warns two minutes before that moment, lets the person stay signed in, and
// then closes the page, so that a shared computer does not go on showing a patient's record.
(function () {
  "use strict";
  var body = document.body;
  var idle = Number(body.getAttribute("data-idle-seconds"));
  var warning = document.getElementById("idle-warning");
  if (!idle || !warning) { return; }
  var closedUrl = body.getAttribute("data-timed-out-url");
  var warnTimer, closeTimer;

  function close() { window.location.replace(closedUrl); }

  function start() {
    window.clearTimeout(warnTimer);
    window.clearTimeout(closeTimer);
    warning.hidden = true;
    warnTimer = window.setTimeout(function () {
      warning.hidden = false;
      warning.querySelector("button").focus();
    }, Math.max(idle - 120, 0) * 1000);
    closeTimer = window.setTimeout(close, idle * 1000);
  }

  warning.querySelector("button").addEventListener("click", function () {
    // Any signed-in request keeps the session; a redirect to sign-in means it has ended already.
    window.fetch(body.getAttribute("data-keepalive-url"), { credentials: "same-origin", cache: "no-store" })
      .then(function (response) { if (response.status === 204) { start(); } else { close(); } }, close);
  });
  start();
})();

// The queue: every 60 seconds, ask how many submissions arrived since the page was shown, and offer a
// reload (never reload by itself: a half-typed filter or reference would be lost). Without this file
// the notice simply stays hidden. The count does not count as activity, so idle sign-out still holds.
(function () {
  "use strict";
  var notice = document.getElementById("new-submissions");
  if (!notice || !window.fetch) { return; }
  var url = notice.getAttribute("data-count-url");
  var text = notice.querySelector(".new-submissions__text");
  function poll() {
    window.fetch(url, { credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (data && data.count > 0) {
          text.textContent = data.count + (data.count === 1 ? " new submission:" : " new submissions:");
          notice.hidden = false;
        }
      }).catch(function () {});
  }
  window.setInterval(poll, Number(notice.getAttribute("data-poll-seconds") || 60) * 1000);
})();
