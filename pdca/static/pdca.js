// The site's only script besides htmx. The Content-Security-Policy forbids inline
// scripts and on…= handlers, so behaviour that needs a line of JavaScript lives here.

// Buttons that only matter without JavaScript (.without-js) or without htmx
// (.without-htmx: filter forms whose fields swap the results by themselves) hide once
// it is known that the page has them; if htmx could not load at all, they stay.
document.documentElement.classList.add("js");
if (window.htmx) { document.documentElement.classList.add("htmx-on"); }

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

// The reader's time zone, for pages that show times (meetings): the server reads it
// from this cookie and falls back to the meeting's own zone without it.
(function () {
  try {
    var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (zone && document.cookie.indexOf("pdca_tz=" + encodeURIComponent(zone)) === -1) {
      document.cookie = "pdca_tz=" + encodeURIComponent(zone) + "; path=/; max-age=31536000; samesite=lax";
    }
  } catch (e) { /* an old browser: times stay in the meeting's zone */ }
})();

// Meeting mode: walk the agenda with the keyboard. j / ArrowDown and k / ArrowUp move
// item by item, n and p department by department. Without JavaScript the same page is
// a list of anchors and forms.
document.addEventListener("DOMContentLoaded", function () {
  var root = document.querySelector("[data-meeting-mode]");
  if (root) { walkAgenda(root); }
  var full = document.querySelector("[data-fullscreen]");
  if (full && document.documentElement.requestFullscreen) {
    full.hidden = false;
    full.addEventListener("click", function () { document.documentElement.requestFullscreen(); });
  }
  var print = document.querySelector("[data-print]");
  if (print) {
    print.hidden = false;
    print.addEventListener("click", function () { window.print(); });
  }
});

function walkAgenda(root) {
  // The stops are looked up afresh each time: a decision taken with htmx replaces its item.
  function stops() {
    return Array.prototype.slice.call(root.querySelectorAll("[data-agenda-item], #end"));
  }
  if (!stops().length) { return; }
  var currentId = null;
  function indexOfCurrent() {
    var all = stops();
    for (var i = 0; i < all.length; i++) { if (all[i].id === currentId) { return i; } }
    return 0;
  }
  function mark() {
    stops().forEach(function (el) { el.classList.toggle("current", el.id === currentId); });
    root.querySelectorAll(".run-nav a").forEach(function (a) {
      a.classList.toggle("current", a.getAttribute("href") === "#" + currentId);
    });
  }
  function show(index) {
    var all = stops();
    var stop = all[Math.max(0, Math.min(all.length - 1, index))];
    currentId = stop.id;
    mark();
    stop.focus({ preventScroll: true });
    stop.scrollIntoView({ block: "start" });
    history.replaceState(null, "", "#" + stop.id);
  }
  function department(step) {
    var here = stops()[indexOfCurrent()].closest("[data-department]");
    var all = Array.prototype.slice.call(root.querySelectorAll("[data-department]"));
    var target = all[Math.max(0, Math.min(all.length - 1, all.indexOf(here) + step))];
    var first = target.matches("[data-agenda-item]") ? target : (target.querySelector("[data-agenda-item]") || target);
    show(stops().indexOf(first));
  }
  document.addEventListener("keydown", function (event) {
    var t = event.target;
    if (event.altKey || event.ctrlKey || event.metaKey) { return; }
    if (t instanceof HTMLInputElement || t instanceof HTMLTextAreaElement || t instanceof HTMLSelectElement || (t && t.isContentEditable)) { return; }
    var keys = { j: 1, ArrowDown: 1, k: -1, ArrowUp: -1 };
    if (event.key in keys) { event.preventDefault(); show(indexOfCurrent() + keys[event.key]); }
    else if (event.key === "n") { event.preventDefault(); department(1); }
    else if (event.key === "p") { event.preventDefault(); department(-1); }
  });
  // After an htmx swap (a decision, the attendance) the item the room is on stays marked,
  // and keeps the keyboard, since the button that had it is gone.
  document.addEventListener("htmx:afterSettle", function () {
    mark();
    var here = currentId && document.getElementById(currentId);
    if (here && (!document.activeElement || document.activeElement === document.body)) {
      here.focus({ preventScroll: true });
    }
  });
  var start = 0;
  var fromHash = location.hash ? document.getElementById(location.hash.slice(1)) : null;
  if (fromHash) {
    var at = stops().indexOf(fromHash.closest("[data-agenda-item]") || fromHash);
    if (at >= 0) { start = at; }
  }
  show(start);
}

// A form that saves each change as it happens (an inspection's answers) and is then
// submitted at once: a changed field loses focus as Submit is pressed, so its save and
// the submission leave together, and the submission, carrying the version read before
// the save, would be refused as changed by someone else (by the same person). The
// submission waits for the save to come back with the new version, then goes.
// Only forms that htmx saves on change and lets the browser submit: a form htmx submits
// itself has already had its submission taken over (defaultPrevented) by then.
document.addEventListener("submit", function (event) {
  var form = event.target;
  if (event.defaultPrevented || !(form instanceof HTMLFormElement)) { return; }
  var trigger = form.getAttribute("hx-trigger") || "";
  if (!form.hasAttribute("hx-post") || trigger.indexOf("change") === -1 || trigger.indexOf("submit") !== -1) { return; }
  if (!form.classList.contains("htmx-request")) { return; }
  event.preventDefault();
  var submitter = event.submitter;
  form.addEventListener("htmx:afterRequest", function () {
    if (submitter && submitter.form === form) { form.requestSubmit(submitter); } else { form.requestSubmit(); }
  }, { once: true });
});
