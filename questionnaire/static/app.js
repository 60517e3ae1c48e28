// Enhancements only (README, "The patient questionnaire").
(function () {
  "use strict";
  var summary = document.querySelector("[data-error-summary]");
  if (summary) { summary.focus(); }

  document.querySelectorAll(".error-summary a").forEach(function (link) {
    link.addEventListener("click", function (event) {
      var input = document.getElementById(link.getAttribute("href").slice(1));
      if (!input) { return; }
      event.preventDefault();
      var legend = input.closest("fieldset");
      (legend || input).scrollIntoView();
      input.focus({ preventScroll: true });
    });
  });

  document.querySelectorAll("[data-exclusive-group]").forEach(function (group) {
    group.addEventListener("change", function (event) {
      var box = event.target;
      if (!box.checked) { return; }
      group.querySelectorAll("input[type=checkbox]").forEach(function (other) {
        if (other !== box && (box.hasAttribute("data-exclusive") || other.hasAttribute("data-exclusive"))) {
          other.checked = false;
        }
      });
    });
  });

  document.querySelectorAll("[data-prevent-double-click]").forEach(function (button) {
    button.form.addEventListener("submit", function () {
      window.setTimeout(function () { button.disabled = true; }, 0);
    });
  });

  document.querySelectorAll("form[data-prg]").forEach(function (f) {
    f.addEventListener("submit", function (e) {
      if (e.submitter && e.submitter.hasAttribute("formaction")) { return; }
      e.preventDefault();
      var here = location.href.split("#")[0];
      fetch(f.action, { method: "POST", body: new URLSearchParams(new FormData(f)) })
        .then(function (r) {
          if (!r.redirected) { f.submit(); } else if (r.url.split("#")[0] === here) { location.replace(r.url); }
          else { location.assign(r.url); }
        }, function () { f.submit(); });
    });
  });

  document.querySelectorAll("[data-print]").forEach(function (link) {
    var block = link.closest("[data-print-block]");
    if (block) { block.hidden = false; }
    link.hidden = false;
    link.addEventListener("click", function (event) {
      event.preventDefault();
      document.querySelectorAll("details.print-open").forEach(function (d) { d.open = true; });
      window.print();
    });
  });
})();
