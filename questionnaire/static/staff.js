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
