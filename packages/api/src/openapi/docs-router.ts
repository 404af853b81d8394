import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import express, { Router } from 'express';
import { buildOpenApiDocument, type OpenApiDocument } from './document.js';

const swaggerUiDir = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));

const docsPage = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>maskq API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" type="image/png" href="/docs/assets/favicon-32x32.png">
<link rel="stylesheet" href="/docs/assets/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/assets/maskq-init.js"></script>
</body>
</html>
`;

// Separate file, not inline, so the page runs under `script-src 'self'`.
const initScript = `window.ui = SwaggerUIBundle({
  url: '/openapi.json',
  dom_id: '#swagger-ui',
  deepLinking: true,
  persistAuthorization: true,
  validatorUrl: null,
  presets: [SwaggerUIBundle.presets.apis],
  layout: 'BaseLayout',
});
`;

/**
 * `GET /openapi.json` (the document, built once) and `GET /docs` (Swagger UI from
 * the swagger-ui-dist package: works offline, under a strict CSP, no CDN).
 */
export function docsRouter(document: OpenApiDocument = buildOpenApiDocument()): Router {
  const router = Router();
  const body = JSON.stringify(document);

  router.get('/openapi.json', (_req, res) => {
    res.set('Cache-Control', 'no-cache').type('application/json').send(body);
  });

  router.get('/docs', (_req, res) => {
    // The app-wide CSP (securityHeaders) applies: scripts from this origin only, none inline.
    res.set('Cache-Control', 'no-cache').type('html').send(docsPage);
  });

  // Assets are files, not API routes: served by middleware, so they are not in the document.
  router.use('/docs/assets/maskq-init.js', (req, res, next) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return next();
    res.set('Cache-Control', 'no-cache').type('text/javascript').send(initScript);
  });

  router.use('/docs/assets', express.static(swaggerUiDir, { index: false, maxAge: '1d', fallthrough: true }));
  return router;
}
