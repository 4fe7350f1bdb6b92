// OAuth 2.0 form_post response mode: submits the page's form, which carries the
// authorization response to the application, as soon as the page is read. A file
// because the CSP forbids inline script; without script the page's Continue button
// does the same.
"use strict";
(function () {
  const form = document.getElementById("form-post");
  if (form) form.submit();
})();
