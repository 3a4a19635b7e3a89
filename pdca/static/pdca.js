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
