/*
 * Starts Swagger UI (swagger-ui-dist, served by us under /docs/api/assets/) on the contract at
 * /v1/openapi.json. Read only: nothing is sent from this page but the request for the document.
 * See src/routes/reference.ts for why this renderer, and the CSP it runs under.
 */
/* global SwaggerUIBundle */
SwaggerUIBundle({
  url: '/v1/openapi.json',
  dom_id: '#reference',
  // BaseLayout, without the standalone preset: no top bar, whose logo carries an inline <style>.
  layout: 'BaseLayout',
  // No deep links: Swagger UI puts each one inside its operation's toggle button (a link nested in
  // a button, which axe rightly flags, and a touch target too small to hit).
  deepLinking: false,
  docExpansion: 'list',
  defaultModelsExpandDepth: 0,
  // Never ask validator.swagger.io about the document (it would also be another origin).
  validatorUrl: null,
  // A reference, not a console: calls would need a service key or the person's session.
  supportedSubmitMethods: [],
  tryItOutEnabled: false,
  // Ignore ?url= and ?configUrl= in the page's address: only our document is ever shown.
  queryConfigEnabled: false,
  // Swagger UI leaves its server menu without a name for screen readers: give it one.
  onComplete: () => {
    for (const select of document.querySelectorAll('#reference select#servers'))
      select.setAttribute('aria-label', 'Server');
  },
});
