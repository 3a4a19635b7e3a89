// The site's only script besides htmx. The Content-Security-Policy forbids inline
// scripts and on…= handlers, so behaviour that needs a line of JavaScript lives here.

// A <select data-submit-on-change> submits its form when a choice is made (the
// language switch); without JavaScript its form has a button instead.
document.addEventListener("change", function (event) {
  var field = event.target;
  if (field instanceof HTMLSelectElement && field.hasAttribute("data-submit-on-change") && field.form) {
    field.form.requestSubmit();
  }
});

// A board that refreshes itself (meeting-room screens) waits while someone is using
// it: a card's form is open, or cards are ticked for a bulk edit. htmx's own trigger
// filters would need eval, which the Content-Security-Policy rightly forbids.
document.addEventListener("htmx:beforeRequest", function (event) {
  var element = event.detail.elt;
  var pausedBy = element && element.getAttribute && element.getAttribute("data-refresh-paused-by");
  if (pausedBy && element.querySelector(pausedBy)) {
    event.preventDefault();
  }
});
