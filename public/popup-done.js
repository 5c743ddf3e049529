// The end of a login opened by /connect.js in a popup: posts the outcome to the page that opened
// it, with exactly that page's origin (from EMBED_ORIGINS, remembered by the login) as
// targetOrigin, then closes. A static file: the CSP allows no inline script.
(function () {
  'use strict';
  var done = document.querySelector('.xt-popup-done');
  if (!done || !window.opener) return;
  var message = {
    type: 'xt-connect',
    status: done.getAttribute('data-status'),
    provider: done.getAttribute('data-provider'),
    state: done.getAttribute('data-state'),
  };
  var error = done.getAttribute('data-error');
  if (error) message.error = error;
  window.opener.postMessage(message, done.getAttribute('data-origin'));
  window.close();
})();
