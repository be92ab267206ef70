// The Viewer widget's front-end: one image, its tiles, channels, planes and ROIs, kept in step with
// the Python object's traits (`channels`, `z`, `view`, `rois`, `selected`, ...).

import { ChannelPanel, type Channel, type Histogram } from './channels';
import { icon } from './icons';
import { ShapeSet, type ShapeJSON } from './rois';
import { Stage, type LayerName, type Selected, type Tool } from './stage';
import { ApiError, openTransport, requestBlob, requestJson, type Transport } from './transport';
import type { Level } from './view';
import { h, listen, throttle, type RenderProps, type WidgetModel } from './widget';

interface ImageMeta {
  id: number;
  name: string;
  pixels: {
    size_x: number;
    size_y: number;
    size_z: number | null;
    size_c: number | null;
    size_t: number | null;
    pixel_type: string | null;
    physical_size_x: number | null;
    physical_size_y: number | null;
    physical_size_z: number | null;
    levels: Level[];
  } | null;
  channels: { index: number; name: string; color: string; min: number | null; max: number | null }[] | null;
}

interface Rendering {
  settings: {
    channels: { active: boolean; start: number; end: number; color: string; inverted: boolean }[];
    model: 'c' | 'g';
    projection: string;
    z: number;
    t: number;
  };
}

const TOOLS: [Tool, string][] = [
  ['pan', 'Pan, zoom and select (drag, wheel, click)'],
  ['rectangle', 'Draw rectangles'],
  ['ellipse', 'Draw ellipses'],
  ['point', 'Draw points'],
  ['polygon', 'Draw polygons (click the vertices; double-click or Enter closes)'],
];
const DRAWN_COLOUR = '#FFD400';
const SAVED_COLOUR = '#FF6EC7';

/** One ROI holding a drawn shape, as B/images/{id}/rois takes it (alone, or in `rois: [...]`). */
export function roiPayload(shape: ShapeJSON): { shapes: Record<string, unknown>[] } {
  const body: Record<string, unknown> = { type: shape.type, z: shape.z ?? null, t: shape.t ?? null };
  for (const key of ['x', 'y', 'width', 'height', 'radius_x', 'radius_y', 'points', 'x1', 'y1', 'x2', 'y2', 'text']) {
    if (shape[key] !== undefined && shape[key] !== null) body[key] = shape[key];
  }
  return { shapes: [body] };
}

/** The catalogue's ROIs as shapes: a page of ROIs each holding `shapes`, or a flat list of shapes. */
export function catalogueShapes(reply: any): ShapeJSON[] {
  const items: any[] = Array.isArray(reply) ? reply : reply?.items ?? reply?.rois ?? reply?.shapes ?? [];
  const shapes: ShapeJSON[] = [];
  for (const item of items) {
    for (const shape of Array.isArray(item?.shapes) ? item.shapes : [item]) {
      if (!shape?.type) continue;
      shapes.push({ ...shape, id: shape.id ?? item.id, roi_id: item.id ?? shape.roi_id ?? null,
        stroke: shape.stroke ?? shape.stroke_color ?? null });
    }
  }
  return shapes;
}

class ViewerSession {
  private transport: Transport | null = null;
  private stage: Stage | null = null;
  private panel: ChannelPanel | null = null;
  private meta: ImageMeta | null = null;
  private cleanups: (() => void)[] = [];
  private closed = false;
  private started = performance.now();
  private firstScreen: number | null = null;
  private localChange = false; // model.set calls made here fire change events too: ignore those
  private message: HTMLDivElement;
  private roiCount: HTMLSpanElement;
  private savedSupported = true;
  private histogramTimer: ReturnType<typeof setTimeout> | null = null;
  private savedTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(private model: WidgetModel, private root: HTMLElement) {
    this.message = h('div', { class: 'sh-message' }, 'Loading…');
    this.roiCount = h('span', { class: 'sh-roi-count' });
    root.append(this.message);
  }

  private get imageId(): number {
    return this.model.get('image_id');
  }

  private set(fields: Record<string, unknown>): void {
    this.localChange = true;
    try {
      for (const [name, value] of Object.entries(fields)) this.model.set(name, value);
    } finally {
      this.localChange = false;
    }
    this.model.save_changes();
  }

  private status(fields: Record<string, unknown>): void {
    this.root.dataset.state = String(fields.state ?? this.root.dataset.state);
    const stats = this.stage?.stats;
    this.set({ status: { ...this.model.get('status'), transport: this.transport?.kind ?? null,
      tiles_loaded: stats?.loaded ?? 0, tiles_failed: stats?.failed ?? 0, level: stats?.level ?? null,
      first_screen_ms: this.firstScreen, ...fields } });
  }

  private fail(error: unknown): void {
    const text = error instanceof ApiError ? `${error.message} (${error.status})` : String((error as Error)?.message ?? error);
    this.message.textContent = text;
    this.message.hidden = false;
    this.message.classList.add('sh-error');
    this.status({ state: 'error', error: text });
  }

  async start(): Promise<void> {
    try {
      this.transport = await openTransport(this.model);
      if (this.closed) return;
      this.root.dataset.transport = this.transport.kind;
      const id = this.imageId;
      if (!id) throw new Error('No image: give the Viewer an image id.');
      const meta = await requestJson<ImageMeta>(this.transport, 'GET', `images/${id}`);
      if (!meta.pixels || !meta.pixels.levels?.length) throw new Error(`Image ${id} (${meta.name}) has no pixels to show.`);
      this.meta = meta;
      const p = meta.pixels;
      this.set({ image: { id, name: meta.name, size_x: p.size_x, size_y: p.size_y, size_z: p.size_z ?? 1,
        size_c: p.size_c ?? 1, size_t: p.size_t ?? 1, pixel_type: p.pixel_type, levels: p.levels,
        physical_size_x: p.physical_size_x, physical_size_y: p.physical_size_y, physical_size_z: p.physical_size_z,
        channel_names: (meta.channels ?? []).map((c) => c.name) } });
      const known: Channel[] = this.model.get('channels') ?? [];
      if (known.length !== (meta.channels?.length ?? 0) || known.length === 0) await this.loadRendering();
      if (this.closed) return;
      this.build();
      this.status({ state: 'ready', error: null });
      this.model.send({ type: 'ready' }); // Python answers with the shapes it was asked to show
      this.loadSavedRois();
    } catch (error) {
      if (!this.closed) this.fail(error);
    }
  }

  /** The saved (or default) rendering settings, with each channel's name and data range. */
  private async loadRendering(): Promise<void> {
    const rendering = await requestJson<Rendering>(this.transport!, 'GET', `images/${this.imageId}/rendering`);
    const metas = this.meta!.channels ?? [];
    const s = rendering.settings;
    this.set({
      channels: s.channels.map((c, i) => ({ name: metas[i]?.name ?? `Channel ${i + 1}`, active: c.active,
        color: c.color, start: c.start, end: c.end, inverted: c.inverted, min: metas[i]?.min ?? null,
        max: metas[i]?.max ?? null })),
      greyscale: s.model === 'g',
      projection: s.projection,
      z: s.z,
      t: s.t,
    });
  }

  private build(): void {
    const meta = this.meta!;
    const p = meta.pixels!;
    const view = this.model.get('view') ?? {};
    this.stage = new Stage({ levels: p.levels, physicalSizeX: p.physical_size_x }, {
      fetchTile: async (level, x, y, query, signal) => {
        const blob = await requestBlob(this.transport!, `images/${meta.id}/render`,
          { query: `tile=${level},${x},${y}&${query}`, signal });
        return createImageBitmap(blob);
      },
      viewChanged: throttle((v) => this.set({ view: { x: Math.round(v.cx * 100) / 100,
        y: Math.round(v.cy * 100) / 100, zoom: Number(v.zoom.toPrecision(6)), width: v.width, height: v.height } }), 250),
      drawn: (shape) => this.addDrawn(shape),
      selectionChanged: (selection) => this.syncSelection(selection),
      deleteSelected: () => this.deleteSelected(),
      tilesChanged: (complete) => {
        if (complete && this.firstScreen === null) this.firstScreen = Math.round(performance.now() - this.started);
        this.root.dataset.complete = String(complete);
        this.status({ state: complete ? 'complete' : 'loading' });
      },
    }, this.model.get('height') ?? 520);
    if (typeof view.x === 'number' && typeof view.zoom === 'number') {
      this.stage.hasView = true;
      this.stage.view.cx = view.x;
      this.stage.view.cy = view.y;
      this.stage.view.zoom = view.zoom;
    }
    (this.root as any).scopehubStage = this.stage; // the benchmarks read its timings
    this.panel = new ChannelPanel({ changed: (channels, commit) => {
      if (!commit) return; // while a window is dragged, the panel commits a few times a second
      this.set({ channels: channels.map((c) => ({ ...c })) });
      this.applyModel();
    } });
    const toolbar = h('div', { class: 'sh-toolbar' },
      ...TOOLS.map(([tool, title]) => {
        const b = h('button', { class: 'sh-tool', 'data-tool': tool, title, 'aria-label': title,
          onclick: () => {
            this.set({ tool });
            this.applyTool();
          } });
        b.innerHTML = icon(tool);
        return b;
      }),
      h('span', { class: 'sh-sep' }),
      this.iconButton('zoom-in', 'Zoom in (+)', () => this.stage!.zoomBy(1.5)),
      this.iconButton('zoom-out', 'Zoom out (−)', () => this.stage!.zoomBy(1 / 1.5)),
      this.iconButton('fit', 'Whole image (0)', () => this.stage!.fit()),
      h('span', { class: 'sh-sep' }),
      h('span', { class: 'sh-title', title: meta.name }, meta.name),
      h('span', { class: 'sh-grow' }),
      this.roiCount,
      h('button', { class: 'sh-button', 'data-action': 'save-rois', title: 'Save the drawn shapes to the catalogue',
        onclick: () => this.saveRois() }, 'Save ROIs'));
    const side = h('div', { class: 'sh-side' },
      h('div', { class: 'sh-section-title' }, 'Channels'),
      this.panel.element,
      this.displayControls(p),
      h('div', { class: 'sh-actions' },
        h('button', { class: 'sh-button', 'data-action': 'save-rendering', title: 'Keep these settings for this image',
          onclick: () => this.saveRendering() }, 'Save settings')));
    this.message.hidden = true;
    this.root.replaceChildren(h('div', { class: 'sh-main' }, toolbar, this.stage.element, this.message), side);
    this.applyModel();
    this.applyTool();
    this.applyDrawn();
    const on = (event: string, fn: () => void) => this.cleanups.push(listen(this.model, event, () => {
      if (!this.localChange) fn();
    }));
    on('change:channels', () => this.applyModel());
    on('change:greyscale', () => this.applyModel());
    on('change:projection', () => this.applyModel());
    on('change:z', () => this.applyModel());
    on('change:t', () => this.applyModel());
    on('change:tool', () => this.applyTool());
    on('change:rois', () => this.applyDrawn());
    on('change:height', () => this.stage?.setHeight(this.model.get('height')));
    on('change:view', () => {
      const v = this.model.get('view') ?? {};
      this.stage?.goto(v.x ?? null, v.y ?? null, v.zoom ?? null);
    });
    this.cleanups.push(listen(this.model, 'msg:custom', (msg: any, buffers: DataView[]) => this.onMessage(msg, buffers)));
  }

  private iconButton(name: string, title: string, onclick: () => void): HTMLButtonElement {
    const b = h('button', { class: 'sh-tool', 'data-action': name, title, 'aria-label': title, onclick });
    b.innerHTML = icon(name);
    return b;
  }

  private displayControls(p: NonNullable<ImageMeta['pixels']>): HTMLElement {
    const sizeZ = p.size_z ?? 1;
    const sizeT = p.size_t ?? 1;
    const mode = (value: boolean, label: string) => h('button', { class: 'sh-seg', 'data-greyscale': String(value),
      onclick: () => {
        const channels: Channel[] = this.model.get('channels').map((c: Channel) => ({ ...c }));
        if (value) { // greyscale shows the first active channel alone
          const first = Math.max(0, channels.findIndex((c) => c.active));
          channels.forEach((c, i) => (c.active = i === first));
        }
        this.set({ greyscale: value, channels });
        this.applyModel();
      } }, label);
    const slider = (name: 'z' | 't', size: number) => {
      const value = h('span', { class: 'sh-plane-value' });
      const input = h('input', { type: 'range', min: 0, max: size - 1, step: 1, 'data-plane': name,
        oninput: () => {
          value.textContent = `${Number(input.value) + 1} / ${size}`;
          this.set({ [name]: Number(input.value) });
          this.applyModel();
        } });
      return h('label', { class: 'sh-plane', 'data-plane': name }, h('span', { class: 'sh-plane-name' }, name.toUpperCase()),
        input, value);
    };
    const projection = h('input', { type: 'checkbox', 'data-action': 'projection', onchange: () => {
      this.set({ projection: projection.checked ? 'intmax' : 'normal' });
      this.applyModel();
    } });
    return h('div', { class: 'sh-display' },
      h('div', { class: 'sh-segmented' }, mode(false, 'Colour'), mode(true, 'Greyscale')),
      sizeZ > 1 && h('label', { class: 'sh-check' }, projection, 'Maximum projection'),
      sizeZ > 1 && slider('z', sizeZ),
      sizeT > 1 && slider('t', sizeT));
  }

  /** The render route's query for the current settings (OMERO's grammar), without the tile. */
  private renderQuery(): string {
    const channels: Channel[] = this.model.get('channels') ?? [];
    const fmt = (v: number) => (Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(7))));
    const c = channels.map((ch, i) => `${ch.active ? '' : '-'}${i + 1}|${fmt(ch.start)}:${fmt(ch.end)}$${ch.color}`).join(',');
    const projection = this.model.get('projection') ?? 'normal';
    const parts = [`c=${encodeURIComponent(c)}`, `m=${this.model.get('greyscale') ? 'g' : 'c'}`, `p=${projection}`,
      `t=${this.model.get('t') ?? 0}`];
    if (projection === 'normal') parts.push(`z=${this.model.get('z') ?? 0}`);
    if (channels.some((ch) => ch.inverted)) {
      parts.push(`maps=${encodeURIComponent(JSON.stringify(channels.map((ch) => ({ inverted: { enabled: !!ch.inverted } }))))}`);
    }
    return parts.join('&');
  }

  /** Bring the picture and the controls in line with the model. */
  private applyModel(): void {
    if (!this.stage || !this.panel) return;
    const greyscale = !!this.model.get('greyscale');
    this.panel.set(this.model.get('channels') ?? [], greyscale);
    this.stage.setRendering(this.renderQuery());
    const z = this.model.get('z') ?? 0;
    const t = this.model.get('t') ?? 0;
    this.stage.setPlane(z, t);
    const projection = this.model.get('projection') ?? 'normal';
    this.root.querySelectorAll<HTMLButtonElement>('.sh-seg').forEach((b) =>
      b.classList.toggle('sh-active', (b.dataset.greyscale === 'true') === greyscale));
    const pbox = this.root.querySelector<HTMLInputElement>('input[data-action="projection"]');
    if (pbox) pbox.checked = projection !== 'normal';
    const meta = this.meta!.pixels!;
    for (const [name, size, value] of [['z', meta.size_z ?? 1, z], ['t', meta.size_t ?? 1, t]] as const) {
      const input = this.root.querySelector<HTMLInputElement>(`input[data-plane="${name}"]`);
      if (!input) continue;
      input.value = String(value);
      input.disabled = name === 'z' && projection !== 'normal';
      input.parentElement!.querySelector('.sh-plane-value')!.textContent = `${value + 1} / ${size}`;
    }
    this.scheduleHistograms();
    this.scheduleSavedRois();
  }

  private applyTool(): void {
    const tool = (this.model.get('tool') ?? 'pan') as Tool;
    this.stage?.setTool(tool);
    this.root.querySelectorAll<HTMLButtonElement>('button[data-tool]').forEach((b) =>
      b.classList.toggle('sh-active', b.dataset.tool === tool));
  }

  private applyDrawn(): void {
    const shapes: ShapeJSON[] = this.model.get('rois') ?? [];
    this.stage?.setLayer('drawn', ShapeSet.fromShapes(shapes, DRAWN_COLOUR));
    this.updateRoiCount();
  }

  private updateRoiCount(): void {
    if (!this.stage) return;
    const drawn: ShapeJSON[] = this.model.get('rois') ?? [];
    const unsaved = drawn.filter((s) => s.roi_id == null).length;
    const shown = this.stage.layer('shown').n + this.stage.layer('saved').n;
    this.roiCount.textContent = [drawn.length && `${drawn.length} drawn${unsaved ? ` (${unsaved} unsaved)` : ''}`,
      shown && `${shown} shown`].filter(Boolean).join(' · ');
  }

  private scheduleHistograms(): void {
    if (this.histogramTimer) clearTimeout(this.histogramTimer);
    this.histogramTimer = setTimeout(() => this.loadHistograms(), 300);
  }

  private histogramPlane = '';

  private async loadHistograms(): Promise<void> {
    const channels: Channel[] = this.model.get('channels') ?? [];
    const z = this.model.get('z') ?? 0;
    const t = this.model.get('t') ?? 0;
    const plane = `${z},${t},${channels.length}`;
    if (plane === this.histogramPlane) return;
    this.histogramPlane = plane;
    await Promise.all(channels.slice(0, 16).map(async (_, i) => {
      try {
        const hist = await requestJson<Histogram>(this.transport!, 'GET', `images/${this.imageId}/histogram`,
          { query: { c: i + 1, z, t, bins: 128 } });
        if (!this.closed) this.panel?.setHistogram(i, hist);
      } catch {
        this.panel?.setHistogram(i, null);
      }
    }));
  }

  // ---- ROIs -----------------------------------------------------------------------------------
  private onMessage(msg: any, buffers: DataView[]): void {
    if (!msg || !this.stage) return;
    if (msg.type === 'rois') {
      const set = msg.count > 0 ? ShapeSet.fromBuffers(msg, buffers) : ShapeSet.empty();
      this.stage.setLayer('shown', set);
      this.updateRoiCount();
    }
  }

  private scheduleSavedRois(): void {
    if (this.savedTimer) clearTimeout(this.savedTimer);
    this.savedTimer = setTimeout(() => this.loadSavedRois(), 200);
  }

  private savedPlane = '';

  /** The catalogue's ROIs on this plane, where the server has the ROI routes. */
  private async loadSavedRois(): Promise<void> {
    if (!this.savedSupported || !this.stage || !this.model.get('show_saved')) return;
    const plane = `${this.model.get('z')},${this.model.get('t')}`;
    if (plane === this.savedPlane) return;
    this.savedPlane = plane;
    try {
      const reply = await requestJson(this.transport!, 'GET', `images/${this.imageId}/rois`,
        { query: { z: this.model.get('z'), t: this.model.get('t'), limit: 1000 } });
      // Shapes drawn here and saved since are in the drawn layer already.
      const drawnIds = new Set((this.model.get('rois') as ShapeJSON[]).map((s) => s.roi_id));
      const shapes = catalogueShapes(reply).filter((s) => s.roi_id == null || !drawnIds.has(s.roi_id));
      this.stage.setLayer('saved', ShapeSet.fromShapes(shapes, SAVED_COLOUR));
      this.updateRoiCount();
    } catch (error) {
      if (error instanceof ApiError && (error.status === 404 || error.status === 405)) this.savedSupported = false;
      this.savedPlane = '';
    }
  }

  private nextId = 1;

  private addDrawn(shape: ShapeJSON): void {
    const drawn: ShapeJSON[] = this.model.get('rois') ?? [];
    let id = `new-${this.nextId++}`;
    while (drawn.some((s) => s.id === id)) id = `new-${this.nextId++}`;
    const stored: ShapeJSON = { id, ...shape, stroke: DRAWN_COLOUR, roi_id: null };
    this.set({ rois: [...drawn, stored] });
    this.applyDrawn();
    const index = drawn.length;
    this.stage!.setSelection([{ layer: 'drawn', index }]);
    this.syncSelection([{ layer: 'drawn', index }]);
  }

  private syncSelection(selection: Selected[]): void {
    const shapes = selection.map(({ layer, index }) => ({ ...this.stage!.layer(layer).shape(index), source: layer }));
    this.set({ selected: shapes });
  }

  private deleteSelected(): void {
    const selection = this.stage!.getSelection();
    const gone = new Set(selection.filter((s) => s.layer === 'drawn').map((s) => s.index));
    if (!gone.size) return;
    const drawn: ShapeJSON[] = this.model.get('rois') ?? [];
    this.set({ rois: drawn.filter((_, i) => !gone.has(i)) });
    this.applyDrawn();
    const rest = selection.filter((s) => s.layer !== 'drawn');
    this.stage!.setSelection(rest);
    this.syncSelection(rest);
  }

  private note(text: string, error = false): void {
    const line = h('div', { class: `sh-note${error ? ' sh-error' : ''}` }, text);
    this.root.querySelector('.sh-main')?.append(line);
    setTimeout(() => line.remove(), error ? 8000 : 3000);
  }

  private async saveRois(): Promise<void> {
    const drawn: ShapeJSON[] = (this.model.get('rois') ?? []).map((s: ShapeJSON) => ({ ...s }));
    const unsaved = drawn.filter((s) => s.roi_id == null);
    if (!unsaved.length) {
      this.note('Nothing new to save.');
      return;
    }
    try {
      // One request for all of them: B/images/{id}/rois takes many ROIs as {rois: [...]} and answers
      // their ids in the order sent.
      const reply = await requestJson(this.transport!, 'POST', `images/${this.imageId}/rois`,
        { json: { rois: unsaved.map((shape) => roiPayload(shape)) } });
      unsaved.forEach((shape, i) => { shape.roi_id = reply.ids[i]; });
      this.note(`Saved ${unsaved.length} ROI${unsaved.length === 1 ? '' : 's'}.`);
    } catch (error) {
      const why = error instanceof ApiError && error.status === 404
        ? 'This server cannot store ROIs (it has no ROI routes).' : `Saving ROIs failed: ${(error as Error).message}`;
      this.note(why, true);
    }
    this.set({ rois: drawn });
    this.applyDrawn();
  }

  private async saveRendering(): Promise<void> {
    const channels: Channel[] = this.model.get('channels') ?? [];
    try {
      await requestJson(this.transport!, 'PUT', `images/${this.imageId}/rendering`, { json: {
        channels: channels.map((c) => ({ active: c.active, start: c.start, end: c.end, color: c.color, inverted: c.inverted })),
        model: this.model.get('greyscale') ? 'g' : 'c', projection: this.model.get('projection'),
        z: this.model.get('z'), t: this.model.get('t') } });
      this.note('Settings saved: thumbnails and other viewers use them now.');
      this.model.send({ type: 'rendering-saved' });
    } catch (error) {
      this.note(`Saving the settings failed: ${(error as Error).message}`, true);
    }
  }

  destroy(): void {
    this.closed = true;
    for (const cleanup of this.cleanups) cleanup();
    this.cleanups = [];
    if (this.histogramTimer) clearTimeout(this.histogramTimer);
    if (this.savedTimer) clearTimeout(this.savedTimer);
    this.stage?.destroy();
    this.transport?.close();
  }
}

function render({ model, el }: RenderProps): () => void {
  const root = h('div', { class: 'scopehub-widget scopehub-viewer', 'data-state': 'loading',
    // JupyterLab's notebook shortcuts (d-d deletes a cell!) must not fire while the viewer has the keys.
    'data-lm-suppress-shortcuts': 'true' });
  root.addEventListener('keydown', (event) => event.stopPropagation());
  el.append(root);
  let session: ViewerSession | null = null;
  const start = () => {
    session?.destroy();
    root.replaceChildren();
    root.dataset.state = 'loading';
    delete root.dataset.complete;
    session = new ViewerSession(model, root);
    void session.start();
  };
  const stop = listen(model, 'change:image_id', start);
  start();
  return () => {
    stop();
    session?.destroy();
  };
}

export default { render };
export type { LayerName };
