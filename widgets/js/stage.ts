// The Viewer's picture: the tile canvas, the ROI canvas above it, the scale bar, and what the
// pointer does (pan, zoom, select, draw). It knows nothing of the model or the transport: the
// Viewer gives it a way to fetch a tile and listens to what it reports.

import { ShapeLayer, ShapeSet, type Kind, type ShapeJSON } from './rois';
import { TileCache, TileLoader, type TileJob } from './tiles';
import { View, formatLength, niceLength, type Level } from './view';
import { h } from './widget';

export type Tool = 'pan' | 'rectangle' | 'ellipse' | 'point' | 'polygon';
export type LayerName = 'saved' | 'shown' | 'drawn';
const LAYERS: LayerName[] = ['saved', 'shown', 'drawn'];

export interface ImageGeometry {
  levels: Level[];
  physicalSizeX: number | null; // micrometres per pixel
}

export interface Selected {
  layer: LayerName;
  index: number;
}

export interface StageEvents {
  fetchTile(level: number, x: number, y: number, query: string, signal: AbortSignal): Promise<ImageBitmap>;
  viewChanged(view: View): void;
  drawn(shape: ShapeJSON): void;
  selectionChanged(selection: Selected[]): void;
  deleteSelected(): void;
  tilesChanged(complete: boolean): void;
}

const BACKGROUND = '#000';
const SELECTED = '#FFFFFF';

export class Stage {
  readonly element: HTMLDivElement;
  readonly view: View;
  private tileCanvas: HTMLCanvasElement;
  private overlay: HTMLCanvasElement;
  private scaleBar: HTMLDivElement;
  private scaleLabel: HTMLSpanElement;
  private info: HTMLDivElement;
  private cache = new TileCache(384);
  private loader: TileLoader;
  private query = ''; // the render query without the tile: the rendering settings
  private previousQuery = ''; // drawn beneath until the new settings' tiles cover the screen
  private z = 0;
  private t = 0;
  private layers = new Map<LayerName, ShapeLayer>();
  private selection: Selected[] = [];
  private tool: Tool = 'pan';
  private preview: number[] = []; // the shape being drawn, image coordinates
  private previewKind: Kind | null = null;
  private pointer: { id: number; x: number; y: number; moved: boolean; startX: number; startY: number } | null = null;
  private frame = 0;
  private tilesDirty = true;
  private overlayDirty = true;
  private complete = false;
  private resizeObserver: ResizeObserver;
  // Measured by the benchmarks: how long each overlay redraw took (ms), the last few hundred.
  readonly overlayTimes: number[] = [];
  readonly tileTimes: number[] = [];

  constructor(private geometry: ImageGeometry, private events: StageEvents, height: number) {
    const level0 = geometry.levels[0];
    this.view = new View(level0.size_x, level0.size_y);
    this.tileCanvas = h('canvas', { class: 'sh-tiles' });
    this.overlay = h('canvas', { class: 'sh-overlay', tabindex: 0, 'aria-label': 'image view' });
    this.scaleLabel = h('span');
    this.scaleBar = h('div', { class: 'sh-scalebar' }, h('div', { class: 'sh-scalebar-bar' }), this.scaleLabel);
    this.info = h('div', { class: 'sh-info' });
    this.element = h('div', { class: 'sh-stage', style: { height: `${height}px` } },
      this.tileCanvas, this.overlay, this.scaleBar, this.info);
    this.loader = new TileLoader(this.cache, 6, () => {
      this.tilesDirty = true;
      this.schedule();
    });
    this.bindPointer();
    this.resizeObserver = new ResizeObserver(() => this.resize());
    this.resizeObserver.observe(this.element);
    for (const name of LAYERS) this.layers.set(name, new ShapeLayer(ShapeSet.empty(), level0.size_x, level0.size_y));
  }

  // ---- what the Viewer sets -------------------------------------------------------------------
  setHeight(height: number): void {
    this.element.style.height = `${height}px`;
  }

  /** New rendering settings (the render route's query without `tile`). */
  setRendering(query: string): void {
    if (query === this.query) return;
    if (this.complete || !this.previousQuery) this.previousQuery = this.query;
    this.query = query;
    if (this.complete) {
      this.complete = false;
      this.events.tilesChanged(false); // at once: whoever waits for the new picture must not see the old one as done
    }
    this.loader.retryFailed();
    this.invalidate(true, false);
  }

  setPlane(z: number, t: number): void {
    if (z === this.z && t === this.t) return;
    this.z = z;
    this.t = t;
    this.invalidate(false, true);
  }

  setLayer(name: LayerName, set: ShapeSet): void {
    const level0 = this.geometry.levels[0];
    this.layers.set(name, new ShapeLayer(set, level0.size_x, level0.size_y));
    this.selection = this.selection.filter((s) => s.layer !== name || s.index < set.n);
    this.invalidate(false, true);
  }

  layer(name: LayerName): ShapeSet {
    return this.layers.get(name)!.set;
  }

  setSelection(selection: Selected[]): void {
    this.selection = selection;
    this.invalidate(false, true);
  }

  getSelection(): Selected[] {
    return this.selection;
  }

  setTool(tool: Tool): void {
    this.tool = tool;
    this.preview = [];
    this.previewKind = null;
    this.overlay.dataset.tool = tool;
    this.invalidate(false, true);
  }

  goto(x: number | null, y: number | null, zoom: number | null): void {
    if (x !== null) this.view.cx = x;
    if (y !== null) this.view.cy = y;
    if (zoom !== null && zoom > 0) this.view.zoom = Math.min(this.view.maxZoom, Math.max(this.view.minZoom, zoom));
    this.view.clampCentre();
    this.viewChanged();
  }

  fit(): void {
    this.view.fit();
    this.viewChanged();
  }

  zoomBy(factor: number): void {
    this.view.zoomAt(factor, this.view.width / 2, this.view.height / 2);
    this.viewChanged();
  }

  get isComplete(): boolean {
    return this.complete;
  }

  get stats() {
    return { ...this.loader.stats, cached: this.cache.size, level: this.view.levelFor(this.geometry.levels) };
  }

  destroy(): void {
    cancelAnimationFrame(this.frame);
    this.resizeObserver.disconnect();
    this.loader.stop();
    this.cache.clear();
  }

  // ---- drawing --------------------------------------------------------------------------------
  private invalidate(tiles: boolean, overlay: boolean): void {
    this.tilesDirty ||= tiles;
    this.overlayDirty ||= overlay;
    if (tiles) this.requestTiles();
    this.schedule();
  }

  private viewChanged(): void {
    this.events.viewChanged(this.view);
    this.invalidate(true, true);
  }

  private schedule(): void {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      if (this.tilesDirty) this.drawTiles();
      if (this.overlayDirty) this.drawOverlay();
    });
  }

  private resize(): void {
    const rect = this.element.getBoundingClientRect();
    if (rect.width < 2 || rect.height < 2) return; // not laid out yet (a hidden tab)
    const dpr = window.devicePixelRatio || 1;
    const first = this.view.width <= 1;
    this.view.resize(rect.width, rect.height, dpr);
    for (const canvas of [this.tileCanvas, this.overlay]) {
      canvas.width = Math.round(rect.width * dpr);
      canvas.height = Math.round(rect.height * dpr);
    }
    if (first && !this.hasView) this.view.fit();
    this.viewChanged();
  }

  /** Set by the Viewer when a view came with the model (Python's goto before the first frame). */
  hasView = false;

  private tileKey(query: string, level: number, x: number, y: number): string {
    return `${query}|${level},${x},${y}`;
  }

  /** Ask for the visible tiles at the screen's level, then a ring around them, then coarser ones. */
  private requestTiles(): void {
    if (this.view.width <= 1 || !this.query) return;
    const levels = this.geometry.levels;
    const target = this.view.levelFor(levels);
    const query = this.query;
    const jobs: TileJob[] = [];
    const add = (level: number, x: number, y: number, priority: number) => {
      const key = this.tileKey(query, level, x, y);
      jobs.push({
        key,
        priority,
        fetch: async (signal) => {
          const started = performance.now();
          const bitmap = await this.events.fetchTile(level, x, y, query, signal);
          this.tileTimes.push(performance.now() - started);
          if (this.tileTimes.length > 2000) this.tileTimes.splice(0, 1000);
          return bitmap;
        },
      });
    };
    // The whole image at the coarsest level first: there is always something to show.
    for (const tile of this.view.tiles(levels, levels.length - 1)) add(tile.level, tile.x, tile.y, -1);
    for (const tile of this.view.tiles(levels, target)) add(tile.level, tile.x, tile.y, tile.priority);
    // Prefetch: a ring around the view (panning), and the next level up (zooming out).
    for (const tile of this.view.tiles(levels, target, 1)) add(tile.level, tile.x, tile.y, 1000 + tile.priority);
    if (target + 1 < levels.length - 1) {
      for (const tile of this.view.tiles(levels, target + 1)) add(tile.level, tile.x, tile.y, 500 + tile.priority);
    }
    const unique = new Map<string, TileJob>();
    for (const job of jobs) {
      const seen = unique.get(job.key);
      if (!seen || job.priority < seen.priority) unique.set(job.key, job);
    }
    this.loader.want([...unique.values()]);
  }

  private drawTiles(): void {
    this.tilesDirty = false;
    const ctx = this.tileCanvas.getContext('2d')!;
    const levels = this.geometry.levels;
    const view = this.view;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.fillStyle = BACKGROUND;
    ctx.fillRect(0, 0, this.tileCanvas.width, this.tileCanvas.height);
    ctx.setTransform(view.dpr, 0, 0, view.dpr, 0, 0);
    const target = view.levelFor(levels);
    // Past one image pixel per screen pixel, show pixels as squares, as microscopists expect.
    ctx.imageSmoothingEnabled = levels[target].scale * view.zoom * view.dpr < 2;
    const drawLevel = (level: number, query: string): boolean => {
      let all = true;
      for (const tile of view.tiles(levels, level)) {
        const key = this.tileKey(query, level, tile.x, tile.y);
        const bitmap = this.cache.peek(key);
        if (!bitmap) {
          if (!this.loader.isFailed(key)) all = false;
          continue;
        }
        const r = view.tileRect(levels, level, tile.x, tile.y);
        ctx.drawImage(bitmap, r.x0, r.y0, r.x1 - r.x0, r.y1 - r.y0);
      }
      return all;
    };
    // Stand-ins first, coarse to fine: the old settings' tiles, then coarser levels of the new ones.
    const coarsest = Math.min(levels.length - 1, target + 5);
    if (this.previousQuery && !this.complete) {
      for (let level = coarsest; level >= target; level--) drawLevel(level, this.previousQuery);
    }
    for (let level = coarsest; level > target; level--) drawLevel(level, this.query);
    const complete = drawLevel(target, this.query);
    if (complete !== this.complete) {
      this.complete = complete;
      if (complete) this.previousQuery = '';
      this.events.tilesChanged(complete);
    }
    this.drawScale();
  }

  private drawScale(): void {
    const view = this.view;
    const level = view.levelFor(this.geometry.levels);
    this.info.textContent = `${Math.round(view.zoom * 1000) / 10}% · level ${level}`;
    const um = this.geometry.physicalSizeX;
    if (!um) {
      this.scaleBar.hidden = true;
      return;
    }
    const length = niceLength((120 * um) / view.zoom);
    this.scaleBar.hidden = false;
    (this.scaleBar.firstChild as HTMLElement).style.width = `${(length * view.zoom) / um}px`;
    this.scaleLabel.textContent = formatLength(length);
  }

  private drawOverlay(): void {
    this.overlayDirty = false;
    const started = performance.now();
    const ctx = this.overlay.getContext('2d')!;
    const view = this.view;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, this.overlay.width, this.overlay.height);
    for (const name of LAYERS) this.layers.get(name)!.draw(ctx, view, this.z, this.t, name === 'drawn' ? 2 : 1.5);
    this.drawSelection(ctx);
    this.drawPreview(ctx);
    this.overlayTimes.push(performance.now() - started);
    if (this.overlayTimes.length > 2000) this.overlayTimes.splice(0, 1000);
  }

  private imageTransform(ctx: CanvasRenderingContext2D): void {
    const v = this.view;
    const k = v.dpr * v.zoom;
    ctx.setTransform(k, 0, 0, k, v.dpr * (v.width / 2 - v.cx * v.zoom), v.dpr * (v.height / 2 - v.cy * v.zoom));
  }

  private drawSelection(ctx: CanvasRenderingContext2D): void {
    if (!this.selection.length) return;
    ctx.save();
    for (const name of LAYERS) {
      const indices = this.selection.filter((s) => s.layer === name).map((s) => s.index);
      if (!indices.length) continue;
      const layer = this.layers.get(name)!;
      this.imageTransform(ctx);
      ctx.lineWidth = 3 / this.view.zoom;
      ctx.strokeStyle = SELECTED;
      ctx.fillStyle = 'rgba(255,255,255,0.12)';
      const path = layer.outline(indices);
      ctx.fill(path);
      ctx.stroke(path);
      ctx.setTransform(this.view.dpr, 0, 0, this.view.dpr, 0, 0);
      for (const i of indices) {
        if (layer.set.kind[i] !== 2) continue;
        const s = layer.set.start[i];
        const [sx, sy] = this.view.toScreen(layer.set.coords[s], layer.set.coords[s + 1]);
        ctx.lineWidth = 2;
        ctx.beginPath();
        ctx.arc(sx, sy, 6, 0, 2 * Math.PI);
        ctx.stroke();
      }
    }
    ctx.restore();
  }

  private drawPreview(ctx: CanvasRenderingContext2D): void {
    if (!this.previewKind || this.preview.length < 2) return;
    const shape = this.previewShape();
    if (!shape) return;
    const set = ShapeSet.fromShapes([shape], '#FFD400');
    ctx.save();
    this.imageTransform(ctx);
    ctx.setLineDash([6 / this.view.zoom, 4 / this.view.zoom]);
    ctx.lineWidth = 2 / this.view.zoom;
    ctx.strokeStyle = '#FFD400';
    const path = new Path2D();
    set.trace(path, 0);
    ctx.stroke(path);
    ctx.restore();
  }

  /** The shape being drawn, as it would be if the pointer stopped here. */
  private previewShape(): ShapeJSON | null {
    const p = this.preview;
    const plane = { z: this.z, t: this.t };
    if (this.previewKind === 'rectangle' && p.length >= 4) {
      const [x0, y0, x1, y1] = p;
      return { type: 'rectangle', x: Math.min(x0, x1), y: Math.min(y0, y1), width: Math.abs(x1 - x0),
        height: Math.abs(y1 - y0), ...plane };
    }
    if (this.previewKind === 'ellipse' && p.length >= 4) {
      const [x0, y0, x1, y1] = p;
      return { type: 'ellipse', x: (x0 + x1) / 2, y: (y0 + y1) / 2, radius_x: Math.abs(x1 - x0) / 2,
        radius_y: Math.abs(y1 - y0) / 2, ...plane };
    }
    if (this.previewKind === 'polygon' && p.length >= 4) {
      const points: number[][] = [];
      for (let i = 0; i + 1 < p.length; i += 2) points.push([p[i], p[i + 1]]);
      return { type: points.length >= 3 ? 'polygon' : 'polyline', points, ...plane };
    }
    return null;
  }

  // ---- the pointer ----------------------------------------------------------------------------
  private local(event: MouseEvent): [number, number] {
    const rect = this.overlay.getBoundingClientRect();
    return [event.clientX - rect.left, event.clientY - rect.top];
  }

  private round(v: number): number {
    return Math.round(v * 100) / 100;
  }

  private bindPointer(): void {
    const o = this.overlay;
    o.addEventListener('wheel', (event) => {
      event.preventDefault();
      const [sx, sy] = this.local(event);
      const lines = event.deltaMode === 1 ? 33 : event.deltaMode === 2 ? 400 : 1;
      this.view.zoomAt(Math.exp(-event.deltaY * lines * 0.002), sx, sy);
      this.viewChanged();
    }, { passive: false });
    o.addEventListener('pointerdown', (event) => {
      if (event.button !== 0 && event.button !== 1) return;
      o.focus({ preventScroll: true });
      o.setPointerCapture(event.pointerId);
      const [sx, sy] = this.local(event);
      this.pointer = { id: event.pointerId, x: sx, y: sy, startX: sx, startY: sy, moved: false };
      const [ix, iy] = this.view.toImage(sx, sy);
      if ((this.tool === 'rectangle' || this.tool === 'ellipse') && event.button === 0) {
        this.previewKind = this.tool;
        this.preview = [ix, iy, ix, iy];
      }
    });
    o.addEventListener('pointermove', (event) => {
      const [sx, sy] = this.local(event);
      if (this.tool === 'polygon' && this.previewKind === 'polygon' && this.preview.length >= 2) {
        const [ix, iy] = this.view.toImage(sx, sy);
        this.preview.splice(this.preview.length - 2, 2, ix, iy);
        this.invalidate(false, true);
      }
      const p = this.pointer;
      if (!p || p.id !== event.pointerId) return;
      if (Math.hypot(sx - p.startX, sy - p.startY) > 3) p.moved = true;
      if (this.previewKind === 'rectangle' || this.previewKind === 'ellipse') {
        const [ix, iy] = this.view.toImage(sx, sy);
        this.preview[2] = ix;
        this.preview[3] = iy;
        this.invalidate(false, true);
      } else if (p.moved && (this.tool === 'pan' || event.buttons === 4 || this.tool === 'polygon' || this.tool === 'point')) {
        this.view.panBy(sx - p.x, sy - p.y);
        this.viewChanged();
      }
      p.x = sx;
      p.y = sy;
    });
    const up = (event: PointerEvent) => {
      const p = this.pointer;
      if (!p || p.id !== event.pointerId) return;
      this.pointer = null;
      const [sx, sy] = this.local(event);
      const [ix, iy] = this.view.toImage(sx, sy);
      if (this.previewKind === 'rectangle' || this.previewKind === 'ellipse') {
        const shape = this.previewShape();
        this.previewKind = null;
        this.preview = [];
        this.invalidate(false, true);
        if (p.moved && shape) this.emitDrawn(shape);
        return;
      }
      if (p.moved) return; // a pan
      if (this.tool === 'point') {
        this.emitDrawn({ type: 'point', x: this.round(ix), y: this.round(iy), z: this.z, t: this.t });
      } else if (this.tool === 'polygon') {
        this.addPolygonPoint(ix, iy);
      } else if (this.tool === 'pan') {
        this.select(ix, iy, event.shiftKey || event.ctrlKey || event.metaKey);
      }
    };
    o.addEventListener('pointerup', up);
    o.addEventListener('pointercancel', up);
    o.addEventListener('dblclick', (event) => {
      event.preventDefault();
      if (this.tool === 'polygon') {
        this.finishPolygon();
        return;
      }
      if (this.tool === 'pan') {
        const [sx, sy] = this.local(event);
        this.view.zoomAt(event.shiftKey ? 0.5 : 2, sx, sy);
        this.viewChanged();
      }
    });
    o.addEventListener('keydown', (event) => {
      const handled = ['Escape', 'Enter', 'Delete', 'Backspace', '+', '=', '-', '0'].includes(event.key);
      if (event.key === 'Escape') {
        this.preview = [];
        this.previewKind = null;
        this.setSelectionAndEmit([]);
      } else if (event.key === 'Enter') this.finishPolygon();
      else if (event.key === 'Delete' || event.key === 'Backspace') this.events.deleteSelected();
      else if (event.key === '+' || event.key === '=') this.zoomBy(1.5);
      else if (event.key === '-') this.zoomBy(1 / 1.5);
      else if (event.key === '0') this.fit();
      if (handled) {
        event.preventDefault();
        this.invalidate(false, true);
      }
    });
  }

  private addPolygonPoint(ix: number, iy: number): void {
    if (this.previewKind !== 'polygon') {
      this.previewKind = 'polygon';
      this.preview = [ix, iy, ix, iy]; // the last pair follows the pointer
      return;
    }
    // A click near the first vertex closes the polygon.
    const [fx, fy] = this.view.toScreen(this.preview[0], this.preview[1]);
    const [sx, sy] = this.view.toScreen(ix, iy);
    if (this.preview.length >= 8 && Math.hypot(fx - sx, fy - sy) < 8) {
      this.preview.splice(this.preview.length - 2, 2);
      this.finishPolygon(false);
      return;
    }
    this.preview.splice(this.preview.length - 2, 2, ix, iy, ix, iy);
    this.invalidate(false, true);
  }

  private finishPolygon(dropFollower = true): void {
    if (this.previewKind !== 'polygon') return;
    if (dropFollower) this.preview.splice(this.preview.length - 2, 2);
    // A double click adds the same vertex twice: keep one.
    const points: number[][] = [];
    for (let i = 0; i + 1 < this.preview.length; i += 2) {
      const last = points[points.length - 1];
      const next = [this.round(this.preview[i]), this.round(this.preview[i + 1])];
      if (!last || Math.hypot(last[0] - next[0], last[1] - next[1]) * this.view.zoom > 2) points.push(next);
    }
    this.preview = [];
    this.previewKind = null;
    this.invalidate(false, true);
    if (points.length >= 3) this.emitDrawn({ type: 'polygon', points, z: this.z, t: this.t });
  }

  private emitDrawn(shape: ShapeJSON): void {
    for (const key of ['x', 'y', 'width', 'height', 'radius_x', 'radius_y'] as const) {
      if (typeof shape[key] === 'number') shape[key] = this.round(shape[key] as number);
    }
    this.events.drawn(shape);
  }

  private select(ix: number, iy: number, add: boolean): void {
    const tol = 5 / this.view.zoom;
    let found: Selected | null = null;
    for (const name of [...LAYERS].reverse()) {
      const index = this.layers.get(name)!.hit(ix, iy, tol, this.z, this.t);
      if (index >= 0) {
        found = { layer: name, index };
        break;
      }
    }
    if (!add) {
      this.setSelectionAndEmit(found ? [found] : []);
      return;
    }
    if (!found) return;
    const f = found;
    const already = this.selection.some((s) => s.layer === f.layer && s.index === f.index);
    this.setSelectionAndEmit(already ? this.selection.filter((s) => !(s.layer === f.layer && s.index === f.index))
      : [...this.selection, f]);
  }

  private setSelectionAndEmit(selection: Selected[]): void {
    this.selection = selection;
    this.events.selectionChanged(selection);
    this.invalidate(false, true);
  }
}
