// When the pinned htmx URL could not be loaded (offline, a firewall, a CDN outage), load
// the app's own copy of the same file, checked against the same SRI hash. It is written
// into the document while the page is still being parsed, so htmx starts as it would
// have from the CDN. A <script> tag loaded from 'self': the Content-Security-Policy
// allows it, and no inline script is needed.
(function () {
  var me = document.currentScript;
  if (window.htmx || !me || !me.dataset.src) { return; }
  document.write(
    '<script src="' + me.dataset.src + '" integrity="' + me.dataset.integrity +
    '" crossorigin="anonymous"><\/script>'
  );
})();
