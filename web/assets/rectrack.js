// Live updates for the web workspace, loaded as a file (the Content-Security-Policy allows no
// inline script). Pages work without it; with it, a page learns of a change by polling the cheap
// /live endpoint and says so, offering to reload.
// GOV.UK Frontend styles and starts its components only on a body it marks as supported (as its
// page template does with an inline script, which the Content-Security-Policy does not allow).
document.body.classList.add('js-enabled');
if ('noModule' in HTMLScriptElement.prototype) document.body.classList.add('govuk-frontend-supported');

(function () {
  var notice = document.querySelector('[data-live-generation]');
  if (!notice) return;
  var seen = notice.getAttribute('data-live-generation');
  function check() {
    var request = new XMLHttpRequest();
    request.open('GET', '/live');
    request.onload = function () {
      if (request.status === 200 && request.responseText.trim() !== seen) {
        notice.classList.add('rectrack-live--shown');
        // The banner appears where it was hidden; a screen reader hears of it from the status
        // line, a live region that was on the page from the start.
        var status = document.getElementById('live-status');
        if (status) status.textContent = 'Something was recorded since this page was shown. Reload the page to see it.';
        return;
      }
      setTimeout(check, 2000);
    };
    request.onerror = function () { setTimeout(check, 5000); };
    request.send();
  }
  setTimeout(check, 2000);
})();
