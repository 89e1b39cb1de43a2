/**
 * The example site: a small chart shop that uses the library as an application would.
 *
 *   npm start      production: one minified bundle per kind and group, cached forever
 *   npm run dev    development: one tag per asset, rebuilt when a file changes
 *
 * PORT (default 3000) and HOST (default: every interface) choose where it listens.
 */
import type { Server } from 'node:http';
import path from 'node:path';
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
