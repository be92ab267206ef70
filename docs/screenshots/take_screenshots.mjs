// Screenshots of scopehub in JupyterLab for the README and the docs (written to docs/images/).
//
// It fills a running demo server's catalogue with a little realistic content through the API
// (skipped when it is already there), writes a notebook that reads the catalogue, opens it in
// headless Chromium, runs it, and saves two PNGs. Re-runnable; nothing is installed in the repo.
//
//   apt-get install -y chromium                       # gives /usr/bin/chromium
//   npm install --prefix /tmp/pw playwright-core      # outside the repo
//   .venv/bin/jupyter lab --ServerApp.ip=127.0.0.1 --no-browser --IdentityProvider.token=XYZ \
//       --ScopehubApp.data_dir=/tmp/demo-data --ScopehubApp.standalone_username=maria \
//       --ServerApp.root_dir=/tmp/demo-root --port=8898            # add --allow-root as root
//   PLAYWRIGHT_DIR=/tmp/pw node docs/screenshots/take_screenshots.mjs
//
// Environment: SCOPEHUB_URL (default http://127.0.0.1:8898/), SCOPEHUB_TOKEN (XYZ),
// CHROMIUM (/usr/bin/chromium), PLAYWRIGHT_DIR (where node_modules/playwright-core is), OUT (docs/images).

import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const URL = (process.env.SCOPEHUB_URL || 'http://127.0.0.1:8898/').replace(/\/?$/, '/');
const TOKEN = process.env.SCOPEHUB_TOKEN || 'XYZ';
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const OUT = process.env.OUT || path.resolve(here, '..', 'images');
const NOTEBOOK = 'scopehub-catalogue.ipynb';
// playwright-core lives outside the repo, so resolve it from there.
const require = createRequire(path.join(process.env.PLAYWRIGHT_DIR || here, 'package.json'));
const { chromium } = require('playwright-core');

const B = `${URL}scopehub/api/v1/`;

async function api(method, route, body, actAs) {
  const headers = { Authorization: `token ${TOKEN}`, 'Content-Type': 'application/json' };
  if (actAs) headers['X-Scopehub-Act-As'] = actAs;
  const r = await fetch(B + route, { method, headers, body: body && JSON.stringify(body) });
  const text = await r.text();
  if (!r.ok) throw new Error(`${method} ${route}: ${r.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

/** A facility's worth of records: two groups' projects, datasets, images, tags and key-values. */
async function seed() {
  const existing = await api('GET', 'projects?q=mitosis');
  if (existing.items.some((p) => p.name === 'Mitosis in HeLa cells')) return;
  const lab = await api('POST', 'groups', { name: 'Cell biology lab', level: 'read-annotate',
    description: 'Organoids and fly development' });
  for (const [username, display_name, role] of [['alice', 'Alice Chen', 'owner'], ['bob', 'Bob Okafor', 'member']]) {
    await api('POST', 'users', { username, display_name });
    await api('PUT', `groups/${lab.id}/members/${username}`, { role });
  }
  const note = (type, fields, on, actAs) => api('POST', 'annotations', { type, ...fields, on }, actAs);

  const mitosis = await api('POST', 'projects', { name: 'Mitosis in HeLa cells',
    description: 'H2B-GFP live imaging, spinning disk, 63x/1.4 oil' });
  const live = await api('POST', 'datasets', { name: '2024-03-12 live', project_id: mitosis.id });
  const fixed = await api('POST', 'datasets', { name: '2024-03-19 fixed, DAPI', project_id: mitosis.id });
  const liveImages = [];
  for (let t = 1; t <= 6; t++) {
    liveImages.push(await api('POST', 'images', { name: `HeLa_H2B-GFP_t${String(t).padStart(3, '0')}.ome.tif`,
      dataset_id: live.id }));
  }
  const fixedImages = [];
  for (let n = 1; n <= 4; n++) {
    fixedImages.push(await api('POST', 'images', { name: `HeLa_fixed_DAPI_${String(n).padStart(2, '0')}.tif`,
      dataset_id: fixed.id, description: 'DAPI / alpha-tubulin' }));
  }
  const cycle = await note('tagset', { value: 'Cell cycle' }, []);
  await note('tag', { value: 'mitosis' }, [...liveImages.slice(2, 5), fixedImages[0]].map((i) => `image:${i.id}`));
  await note('tag', { value: 'metaphase' }, [`annotation:${cycle.id}`, `image:${liveImages[3].id}`,
    `image:${fixedImages[0].id}`]);
  await note('tag', { value: 'prophase' }, [`annotation:${cycle.id}`, `image:${liveImages[2].id}`]);
  await note('map', { namespace: 'acquisition', values: [['cell line', 'HeLa'], ['stain', 'DAPI'],
    ['stain', 'alpha-tubulin'], ['objective', '63x/1.4 oil']] }, fixedImages.map((i) => `image:${i.id}`));
  await note('map', { namespace: 'acquisition', values: [['cell line', 'HeLa H2B-GFP'], ['interval', '3 min'],
    ['objective', '63x/1.4 oil']] }, liveImages.map((i) => `image:${i.id}`));
  await note('comment', { value: 'Clean metaphase plate; use for the figure.' }, [`image:${fixedImages[0].id}`]);
  await note('rating', { value: 5 }, [`image:${fixedImages[0].id}`]);

  const organoids = await api('POST', 'projects', { name: 'Organoid growth', group_id: lab.id,
    description: 'Intestinal organoids, brightfield time-lapse' }, 'alice');
  for (const day of ['Day 3', 'Day 7', 'Day 10']) {
    const ds = await api('POST', 'datasets', { name: day, project_id: organoids.id }, 'alice');
    await api('POST', 'images', { name: `organoids_${day.replace(' ', '').toLowerCase()}_well_B2.tif`,
      dataset_id: ds.id }, 'alice');
  }
  const wings = await api('POST', 'projects', { name: 'Drosophila wing discs', group_id: lab.id,
    description: 'Confocal stacks, Dpp signalling' }, 'bob');
  const discs = await api('POST', 'datasets', { name: 'L3 discs, pMad', project_id: wings.id }, 'bob');
  const disc = await api('POST', 'images', { name: 'wing_disc_pMad_01.czi', dataset_id: discs.id }, 'bob');
  await note('map', { values: [['stain', 'DAPI'], ['stain', 'pMad'], ['genotype', 'w1118']] },
    [`image:${disc.id}`], 'bob');
  await note('tag', { value: 'organoid' }, [`project:${organoids.id}`], 'bob');
}

const code = (source, hidden = false) => ({ cell_type: 'code', execution_count: null, outputs: [],
  metadata: hidden ? { jupyter: { source_hidden: true } } : {}, source });
const markdown = (source) => ({ cell_type: 'markdown', metadata: {}, source });

/** The notebook: the user guide's connection code, then tables of what the API answers. */
function notebook() {
  return {
    nbformat: 4, nbformat_minor: 5,
    metadata: { kernelspec: { name: 'python3', display_name: 'Python 3 (ipykernel)', language: 'python' } },
    cells: [
      markdown('## The scopehub catalogue, from a notebook\n'
        + 'The Jupyter server serves the catalogue at `{base_url}scopehub/api/v1/`; the kernel finds its URL and token.'),
      code(`import os

import requests
from jupyter_server.serverapp import list_running_servers

server = next(s for s in list_running_servers() if s["pid"] == int(os.environ["JPY_PARENT_PID"]))
B = server["url"] + "scopehub/api/v1/"
api = requests.Session()
api.headers["Authorization"] = f"token {server['token']}"
api.get(B).json()`),
      code(`from html import escape

from IPython.display import HTML

def table(items, *columns):
    """A list reply as an HTML table; a column is a key or a function of the item."""
    def cell(item, c):
        return c(item) if callable(c) else item.get(c, "")
    head = "".join(f"<th>{escape(getattr(c, '__name__', c))}</th>" for c in columns)
    rows = "".join("<tr>" + "".join(f"<td>{escape(str(cell(i, c)))}</td>" for c in columns) + "</tr>" for i in items)
    style = "<style>.scopehub th, .scopehub td { text-align: left !important; }</style>"
    return HTML(f"{style}<table class='scopehub'><tr>{head}</tr>{rows}</table>")

def owner(o):
    return o["owner"]["username"]

def group(o):
    return o["group"]["name"]

def datasets(o):
    return o["child_count"]

def value(a):
    return a.get("value") or "; ".join(f"{k} = {v}" for k, v in a.get("values") or [])`, true),
      code(`projects = api.get(B + "projects").json()
table(projects["items"], "id", "name", owner, group, datasets, "description")`),
      markdown('Images with the key-value pair `stain = DAPI`, wherever they are:'),
      code(`hits = api.get(B + "search", params={"q": "stain=DAPI", "type": "image"}).json()
table(hits["items"], "id", "name", owner, group)`),
      code(`image = hits["items"][0]
notes = api.get(B + "annotations", params={"on": f"image:{image['id']}"}).json()
table(notes["items"], "type", "namespace", value, owner)`),
    ],
  };
}

/** Write the notebook, and shut down a kernel left from an earlier run (so cells count from 1). */
async function putNotebook() {
  const headers = { Authorization: `token ${TOKEN}`, 'Content-Type': 'application/json' };
  const sessions = await (await fetch(`${URL}api/sessions`, { headers })).json();
  for (const s of sessions.filter((s) => s.path === NOTEBOOK)) {
    await fetch(`${URL}api/sessions/${s.id}`, { method: 'DELETE', headers });
  }
  const r = await fetch(`${URL}api/contents/${NOTEBOOK}`, {
    method: 'PUT', headers, body: JSON.stringify({ type: 'notebook', format: 'json', content: notebook() }),
  });
  if (!r.ok) throw new Error(`writing ${NOTEBOOK}: ${r.status} ${await r.text()}`);
}

async function shoot() {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(`${URL}lab/tree/${NOTEBOOK}?token=${TOKEN}`);
    await page.addStyleTag({ content: '.Toastify { display: none !important; }' }); // JupyterLab's news toast
    const idle = page.locator('.jp-StatusBar-TextItem', { hasText: /\| Idle/ });
    await idle.first().waitFor({ timeout: 120_000 });
    await page.locator('.jp-Notebook').first().waitFor();
    await page.locator('.lm-MenuBar-itemLabel', { hasText: /^Run$/ }).click();
    await page.locator('li.lm-Menu-item[data-command="runmenu:run-all"]').click();
    const cells = page.locator('.jp-Notebook .jp-Cell');
    await cells.last().locator('.jp-OutputArea-output table').waitFor({ timeout: 60_000 });
    await idle.first().waitFor();
    // More room for the notebook: fold the file browser away (JupyterLab remembers it from the last run).
    await cells.first().click();
    await page.keyboard.press('Escape');
    if (await page.locator('#jp-left-stack').isVisible()) await page.keyboard.press('Control+b');
    await cells.first().evaluate((el) => el.scrollIntoView({ block: 'start' }));
    await page.waitForTimeout(1000);
    mkdirSync(OUT, { recursive: true });
    await page.screenshot({ path: path.join(OUT, 'jupyterlab-projects.png') });
    // The search and annotation tables: scroll so that their heading cell is at the top.
    await cells.nth(4).evaluate((el) => el.scrollIntoView({ block: 'start' }));
    await page.waitForTimeout(1000);
    await page.screenshot({ path: path.join(OUT, 'jupyterlab-search.png') });
  } finally {
    await browser.close();
  }
}

await seed();
await putNotebook();
await shoot();
console.log(`screenshots written to ${OUT}`);
