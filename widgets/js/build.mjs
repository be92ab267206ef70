// Bundles the widgets' front-end (widgets/js/*.ts, widgets.css) into widgets/static/, which is
// committed so that `pip install` needs no node. `make widgets` runs it; tests/widgets/test_bundle.py
// rebuilds into a temporary folder and checks that the committed files are what the sources give.
//
//   node widgets/js/build.mjs [OUTDIR]

import * as esbuild from 'esbuild';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const outdir = path.resolve(process.argv[2] ?? path.join(here, '..', 'static'));

await esbuild.build({
  entryPoints: {
    viewer: path.join(here, 'viewer.ts'),
    browser: path.join(here, 'browser.ts'),
    widgets: path.join(here, 'widgets.css'),
  },
  outdir,
  bundle: true,
  format: 'esm', // anywidget loads each bundle as an ES module
  target: ['es2020', 'chrome100', 'firefox100', 'safari15'],
  minify: true, // the bundle travels to the page with every widget
  legalComments: 'none',
  charset: 'utf8',
  logLevel: 'warning',
});
