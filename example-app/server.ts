/**
 * The example site: a small chart shop that uses the library as an application would.
 *
 *   npm start      production: one minified bundle per kind and group, cached forever
 *   npm run dev    development: one tag per asset, rebuilt when a file changes
 *
 * PORT (default 3000) and HOST (default: every interface) choose where it listens.
 */
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import path from 'node:path';
import compression from 'compression';
import express from 'express';
import type { ErrorRequestHandler, Express, RequestHandler } from 'express';
import nunjucks from 'nunjucks';
import { assets } from './assets';

interface Chart {
  name: string;
  area: string;
  price: number;
  inStock: boolean;
  description: string;
}

const CHARTS: Chart[] = [
  { name: 'Dover Strait', area: 'English Channel', price: 24, inStock: true, description: '' },
  { name: 'The Solent', area: 'Isle of Wight', price: 21, inStock: true, description: '' },
  { name: 'Scilly Isles', area: 'Western Approaches', price: 26, inStock: false, description: '' },
  { name: 'Firth of Forth', area: 'North Sea', price: 22, inStock: true, description: '' },
  { name: 'Menai Strait', area: 'Irish Sea', price: 19, inStock: false, description: '' },
  { name: 'Orkney', area: 'Pentland Firth', price: 27, inStock: true, description: '' },
].map((chart) => ({
  ...chart,
  description: `${chart.name}, ${chart.area}.\n\nSurveyed soundings, lights and tidal streams.`,
}));

/** Stands for a database query. */
async function findCharts(): Promise<Chart[]> {
  return CHARTS;
}

/** Builds the assets (or reuses the build in outDir) and makes the application. */
export async function createApp(): Promise<Express> {
  await assets.build();

  const app = express();
  const env = nunjucks.configure(path.join(__dirname, 'views'), {
    autoescape: true,
    noCache: app.get('env') !== 'production',
  });
  env.express(app);
  assets.nunjucks(env);
  app.set('view engine', 'njk');

  // Every response may be compressed: the pages (3-4 kB of HTML, about 1 kB in brotli) are.
  // The bundles are not compressed again: the library sends their brotli or gzip twin, made at
  // build time, with its Content-Encoding, and compression leaves encoded bodies alone.
  app.use(compression());
  // Before the asset middleware: its development error and report pages read the nonce too.
  app.use(strictContentSecurityPolicy);
  app.use(assets.middleware());

  // Assets required in templates only: the layout's, and the newsletter partial's.
  app.get('/', (req, res) => {
    res.render('home', { subscribed: req.query.subscribed === '1' });
  });

  // A handler-level requirement, made before the slow work: with `earlyHints` on, the browser
  // hears of the bundles while the charts load.
  app.get('/catalogue', async (_req, res) => {
    res.requireAssets('site/catalogue.less');
    res.render('catalogue', { charts: await findCharts() });
  });

  // A route that declares its needs up front: the editor, in its own `admin` bundle.
  app.get('/admin', assets.needs('admin/editor.js'), (_req, res) => {
    res.render('admin', { chart: CHARTS[0] });
  });

  // A template that asks for a misspelled asset, to show the error page.
  app.get('/broken', (_req, res) => {
    res.render('broken');
  });

  app.post('/newsletter', express.urlencoded({ extended: false }), (_req, res) => {
    res.redirect(303, '/?subscribed=1');
  });

  app.use(notFound);
  app.use(showError);
  return app;
}

/** Starts the site; resolves once it listens. */
export async function start(port: number, host?: string): Promise<Server> {
  const app = await createApp();
  return new Promise((resolve, reject) => {
    const done = (error?: Error) => (error ? reject(error) : resolve(server));
    const server = host ? app.listen(port, host, done) : app.listen(port, done);
  });
}

/**
 * A strict CSP: a script or style element runs only if it carries this response's nonce, which
 * the library prints on its tags (it reads `res.locals.cspNonce`). 'strict-dynamic' lets those
 * scripts load others; fonts, images and requests stay on this origin. The header goes on the
 * bundles too: a few hundred bytes on a first visit, simpler than telling the responses apart.
 */
const strictContentSecurityPolicy: RequestHandler = (_req, res, next) => {
  const nonce = randomBytes(16).toString('base64');
  res.locals.cspNonce = nonce;
  res.setHeader(
    'Content-Security-Policy',
    [
      "default-src 'self'",
      `script-src 'nonce-${nonce}' 'strict-dynamic'`,
      `style-src 'self' 'nonce-${nonce}'`,
      "font-src 'self'",
      "img-src 'self' data:", // the layout's empty favicon is a data: URL
      "object-src 'none'",
      "base-uri 'none'",
      "form-action 'self'",
      "frame-ancestors 'none'",
    ].join('; '),
  );
  next();
};

const notFound: RequestHandler = (_req, res) => {
  res.status(404).render('error', { title: 'Page not found' });
};

/**
 * Template errors about assets carry the `AssetMissingError` facts (`code`, `asset`,
 * `suggestions`), so one error page serves a handler's and a template's mistakes alike.
 */
const showError: ErrorRequestHandler = (error: Partial<AssetFacts> & Error, req, res, next) => {
  if (res.headersSent) {
    next(error);
    return;
  }
  console.error(`${req.method} ${req.originalUrl}: ${error.message}`);
  const development = req.app.get('env') !== 'production';
  res.status(500);
  if (error.code === 'ASSET_MISSING') {
    res.render('error', {
      title: 'An asset is not registered',
      asset: error.asset,
      suggestions: error.suggestions ?? [],
    });
  } else {
    res.render('error', {
      title: 'Something went wrong',
      message: development ? error.message : undefined,
    });
  }
};

interface AssetFacts {
  code: string;
  asset: string;
  suggestions: readonly string[];
}

if (require.main === module) {
  const port = Number(process.env.PORT ?? 3000);
  start(port, process.env.HOST).then(
    (server) => {
      const address = server.address();
      const bound = typeof address === 'object' && address ? address.port : port;
      console.log(`Harbour Charts (${assets.options.mode}): http://localhost:${bound}/`);
    },
    (error: unknown) => {
      console.error(error);
      process.exitCode = 1;
    },
  );
}
