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

  // A page sent with errors comes back after a redirect to itself (Post/Redirect/Get). Sent from
  // here, that page replaces the one in the history, so Back goes to the page before, not to the
  // same page again; any other answer is a normal navigation. Without this file, Back shows the
  // page again (a GET, never "Confirm Form Resubmission").
  document.querySelectorAll("form[data-replace-on-error]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (event.submitter && event.submitter.hasAttribute("formaction")) { return; }
      event.preventDefault();
      var here = location.href.split("#")[0];
      fetch(form.action, { method: "POST", body: new URLSearchParams(new FormData(form)), credentials: "same-origin" })
        .then(function (response) {
          if (!response.redirected) { form.submit(); return; }
          if (response.url.split("#")[0] === here) { location.replace(response.url); }
          else { location.assign(response.url); }
        })
        .catch(function () { form.submit(); });
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
