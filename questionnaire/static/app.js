// Small enhancements only: every page works without this file.
(function () {
  "use strict";
  // Focus the error summary (the autofocus attribute does it too, in browsers that support it).
  var summary = document.querySelector("[data-error-summary]");
  if (summary) { summary.focus(); }

  // Error summary links: move to the field and bring its question into view.
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

  // "None of these" and "Not sure" cannot be combined with other choices.
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

  // One click sends once: the server makes a second send harmless, this only avoids the wait.
  document.querySelectorAll("[data-prevent-double-click]").forEach(function (button) {
    button.form.addEventListener("submit", function () {
      window.setTimeout(function () { button.disabled = true; }, 0);
    });
  });

  // The print button exists only where this script runs (its paragraph is hidden in the page).
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
