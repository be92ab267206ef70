// ROI shapes on their own canvas: stored as columns (10^5 shapes are a few typed arrays, not 10^5
// objects), grouped into a coarse grid of cells, each cell's shapes kept as one Path2D per stroke
// colour in image coordinates. A frame strokes the visible cells' paths under one transform, so
// panning and zooming never rebuild paths; the grid also answers "what is under the pointer".

import type { View } from './view';

export const KINDS = ['rectangle', 'ellipse', 'point', 'polygon', 'polyline', 'line'] as const;
export type Kind = (typeof KINDS)[number];
const RECT = 0;
const ELLIPSE = 1;
const POINT = 2;
const POLYGON = 3;
const POLYLINE = 4;
const LINE = 5;

/** A shape as Python and the API see it (OMERO's geometry; z and t null when on every plane). */
export interface ShapeJSON {
  id?: string | number | null;
  type: Kind;
  x?: number;
  y?: number;
  width?: number;
  height?: number;
  radius_x?: number;
  radius_y?: number;
  x1?: number;
  y1?: number;
  x2?: number;
  y2?: number;
  points?: number[][];
  z?: number | null;
  t?: number | null;
  stroke?: string | null;
  text?: string | null;
  roi_id?: number | null;
  [other: string]: unknown;
}

function cssColour(colour: string | null | undefined, fallback: string): string {
  if (!colour) return fallback;
  const hex = colour.startsWith('#') ? colour.slice(1) : colour;
  return /^[0-9a-fA-F]{6}([0-9a-fA-F]{2})?$/.test(hex) ? `#${hex}` : colour;
}

/** Shapes as columns: kind, plane, style, and coordinates `coords[start[i] .. start[i+1]]`. */
export class ShapeSet {
  readonly n: number;
  readonly bbox: Float32Array; // x0, y0, x1, y1 per shape

  constructor(
    readonly kind: Uint8Array,
    readonly z: Int32Array, // -1: every z
    readonly t: Int32Array,
    readonly style: Uint16Array,
    readonly start: Uint32Array, // n + 1 offsets into coords
    readonly coords: Float32Array,
    readonly styles: string[],
    readonly ids: (string | number)[],
    readonly extras: (Record<string, unknown> | null)[] = []
  ) {
    this.n = kind.length;
    this.bbox = new Float32Array(this.n * 4);
    for (let i = 0; i < this.n; i++) this.measure(i);
  }

  static empty(): ShapeSet {
    return ShapeSet.fromShapes([], '#00E5FF');
  }

  static fromShapes(shapes: ShapeJSON[], defaultColour: string): ShapeSet {
    const n = shapes.length;
    const kind = new Uint8Array(n);
    const z = new Int32Array(n);
    const t = new Int32Array(n);
    const style = new Uint16Array(n);
    const start = new Uint32Array(n + 1);
    const styles: string[] = [];
    const styleIndex = new Map<string, number>();
    const coords: number[] = [];
    const ids: (string | number)[] = [];
    const extras: (Record<string, unknown> | null)[] = [];
    shapes.forEach((s, i) => {
      const k = KINDS.indexOf(s.type);
      if (k < 0) throw new Error(`unknown shape type ${s.type}`);
      kind[i] = k;
      z[i] = s.z ?? -1;
      t[i] = s.t ?? -1;
      const colour = cssColour(s.stroke, defaultColour);
      if (!styleIndex.has(colour)) {
        styleIndex.set(colour, styles.length);
        styles.push(colour);
      }
      style[i] = styleIndex.get(colour)!;
      start[i] = coords.length;
      if (k === RECT) coords.push(s.x ?? 0, s.y ?? 0, s.width ?? 0, s.height ?? 0);
      else if (k === ELLIPSE) coords.push(s.x ?? 0, s.y ?? 0, s.radius_x ?? 0, s.radius_y ?? 0);
      else if (k === POINT) coords.push(s.x ?? 0, s.y ?? 0);
      else if (k === LINE) coords.push(s.x1 ?? 0, s.y1 ?? 0, s.x2 ?? 0, s.y2 ?? 0);
      else for (const [px, py] of s.points ?? []) coords.push(px, py);
      ids.push(s.id ?? i);
      const { text, roi_id } = s;
      extras.push(text != null || roi_id != null ? { text, roi_id } : null);
    });
    start[n] = coords.length;
    return new ShapeSet(kind, z, t, style, start, Float32Array.from(coords), styles, ids, extras);
  }

  /** The columns Python's `show_rois` sends: kind u8, z i32, t i32, style u16, start u32, coords f32. */
  static fromBuffers(header: { styles: string[]; ids?: (string | number)[] | null }, buffers: DataView[]): ShapeSet {
    const copy = (view: DataView) => view.buffer.slice(view.byteOffset, view.byteOffset + view.byteLength);
    const [kind, z, t, style, start, coords] = buffers.map(copy);
    const n = kind.byteLength;
    const ids = header.ids ?? Array.from({ length: n }, (_, i) => i);
    return new ShapeSet(
      new Uint8Array(kind),
      new Int32Array(z),
      new Int32Array(t),
      new Uint16Array(style),
      new Uint32Array(start),
      new Float32Array(coords),
      header.styles.map((c) => cssColour(c, '#00E5FF')),
      ids
    );
  }

  private measure(i: number): void {
    const c = this.coords;
    const s = this.start[i];
    let x0: number, y0: number, x1: number, y1: number;
    switch (this.kind[i]) {
      case RECT:
        x0 = Math.min(c[s], c[s] + c[s + 2]);
        y0 = Math.min(c[s + 1], c[s + 1] + c[s + 3]);
        x1 = Math.max(c[s], c[s] + c[s + 2]);
        y1 = Math.max(c[s + 1], c[s + 1] + c[s + 3]);
        break;
      case ELLIPSE:
        x0 = c[s] - Math.abs(c[s + 2]);
        y0 = c[s + 1] - Math.abs(c[s + 3]);
        x1 = c[s] + Math.abs(c[s + 2]);
        y1 = c[s + 1] + Math.abs(c[s + 3]);
        break;
      default: {
        x0 = y0 = Infinity;
        x1 = y1 = -Infinity;
        for (let j = s; j + 1 < this.start[i + 1]; j += 2) {
          x0 = Math.min(x0, c[j]);
          x1 = Math.max(x1, c[j]);
          y0 = Math.min(y0, c[j + 1]);
          y1 = Math.max(y1, c[j + 1]);
        }
        if (x0 === Infinity) x0 = y0 = x1 = y1 = 0;
      }
    }
    this.bbox.set([x0, y0, x1, y1], i * 4);
  }

  onPlane(i: number, z: number, t: number): boolean {
    return (this.z[i] < 0 || this.z[i] === z) && (this.t[i] < 0 || this.t[i] === t);
  }

  /** Shape `i` as JSON, as Python and the API see it. */
  shape(i: number): ShapeJSON {
    const c = this.coords;
    const s = this.start[i];
    const type = KINDS[this.kind[i]];
    const out: ShapeJSON = { id: this.ids[i], type };
    if (type === 'rectangle') Object.assign(out, { x: c[s], y: c[s + 1], width: c[s + 2], height: c[s + 3] });
    else if (type === 'ellipse') Object.assign(out, { x: c[s], y: c[s + 1], radius_x: c[s + 2], radius_y: c[s + 3] });
    else if (type === 'point') Object.assign(out, { x: c[s], y: c[s + 1] });
    else if (type === 'line') Object.assign(out, { x1: c[s], y1: c[s + 1], x2: c[s + 2], y2: c[s + 3] });
    else {
      const points: number[][] = [];
      for (let j = s; j + 1 < this.start[i + 1]; j += 2) points.push([c[j], c[j + 1]]);
      out.points = points;
    }
    out.z = this.z[i] < 0 ? null : this.z[i];
    out.t = this.t[i] < 0 ? null : this.t[i];
    out.stroke = this.styles[this.style[i]];
    Object.assign(out, this.extras[i] ?? {});
    return out;
  }

  /** Add shape i's outline to a path, in image coordinates (points are drawn apart, at screen size). */
  trace(path: Path2D, i: number): void {
    const c = this.coords;
    const s = this.start[i];
    const e = this.start[i + 1];
    switch (this.kind[i]) {
      case RECT:
        path.rect(c[s], c[s + 1], c[s + 2], c[s + 3]);
        break;
      case ELLIPSE:
        path.moveTo(c[s] + Math.abs(c[s + 2]), c[s + 1]);
        path.ellipse(c[s], c[s + 1], Math.abs(c[s + 2]), Math.abs(c[s + 3]), 0, 0, 2 * Math.PI);
        break;
      case POLYGON:
      case POLYLINE:
      case LINE:
        if (e - s < 4) break;
        path.moveTo(c[s], c[s + 1]);
        for (let j = s + 2; j + 1 < e; j += 2) path.lineTo(c[j], c[j + 1]);
        if (this.kind[i] === POLYGON) path.closePath();
        break;
    }
  }

  /** Is image point (x, y) on shape i: inside a closed shape, or within `tol` of a point or line. */
  hits(i: number, x: number, y: number, tol: number): boolean {
    const b = i * 4;
    if (x < this.bbox[b] - tol || x > this.bbox[b + 2] + tol || y < this.bbox[b + 1] - tol || y > this.bbox[b + 3] + tol) {
      return false;
    }
    const c = this.coords;
    const s = this.start[i];
    const e = this.start[i + 1];
    switch (this.kind[i]) {
      case RECT:
        return true; // inside the (grown) box
      case ELLIPSE: {
        const rx = Math.abs(c[s + 2]) + tol;
        const ry = Math.abs(c[s + 3]) + tol;
        return ((x - c[s]) / rx) ** 2 + ((y - c[s + 1]) / ry) ** 2 <= 1;
      }
      case POINT:
        return Math.hypot(x - c[s], y - c[s + 1]) <= tol;
      default: {
        let inside = false;
        for (let j = s; j + 3 < e; j += 2) {
          if (segmentDistance(x, y, c[j], c[j + 1], c[j + 2], c[j + 3]) <= tol) return true;
        }
        if (this.kind[i] === POLYGON) {
          if (e - s >= 4 && segmentDistance(x, y, c[e - 2], c[e - 1], c[s], c[s + 1]) <= tol) return true;
          for (let j = s, k = e - 2; j + 1 < e; k = j, j += 2) {
            const yi = c[j + 1];
            const yk = c[k + 1];
            if (yi > y !== yk > y && x < ((c[k] - c[j]) * (y - yi)) / (yk - yi) + c[j]) inside = !inside;
          }
        }
        return inside;
      }
    }
  }
}

function segmentDistance(x: number, y: number, ax: number, ay: number, bx: number, by: number): number {
  const dx = bx - ax;
  const dy = by - ay;
  const len = dx * dx + dy * dy;
  const u = len > 0 ? Math.max(0, Math.min(1, ((x - ax) * dx + (y - ay) * dy) / len)) : 0;
  return Math.hypot(x - (ax + u * dx), y - (ay + u * dy));
}

interface Cell {
  shapes: Int32Array;
  box: [number, number, number, number]; // union of its shapes' boxes
  plane: string; // which plane the paths below were built for
  paths: Map<number, Path2D>; // style -> outlines of the cell's shapes on that plane
  points: Int32Array; // its point shapes on that plane
}

/** A ShapeSet on screen: a grid of cells, each shape in the cell of its box's centre. */
export class ShapeLayer {
  private cells: Cell[] = [];

  constructor(readonly set: ShapeSet, imageWidth: number, imageHeight: number) {
    // About a hundred shapes a cell, at most 64 × 64 cells.
    const side = Math.max(1, Math.min(64, Math.round(Math.sqrt(set.n / 100))));
    const cw = Math.max(1, imageWidth) / side;
    const ch = Math.max(1, imageHeight) / side;
    const members: number[][] = Array.from({ length: side * side }, () => []);
    for (let i = 0; i < set.n; i++) {
      const b = i * 4;
      const gx = Math.min(side - 1, Math.max(0, Math.floor((set.bbox[b] + set.bbox[b + 2]) / 2 / cw)));
      const gy = Math.min(side - 1, Math.max(0, Math.floor((set.bbox[b + 1] + set.bbox[b + 3]) / 2 / ch)));
      members[gy * side + gx].push(i);
    }
    for (const list of members) {
      if (list.length === 0) continue;
      const box: [number, number, number, number] = [Infinity, Infinity, -Infinity, -Infinity];
      for (const i of list) {
        box[0] = Math.min(box[0], set.bbox[i * 4]);
        box[1] = Math.min(box[1], set.bbox[i * 4 + 1]);
        box[2] = Math.max(box[2], set.bbox[i * 4 + 2]);
        box[3] = Math.max(box[3], set.bbox[i * 4 + 3]);
      }
      this.cells.push({ shapes: Int32Array.from(list), box, plane: '', paths: new Map(), points: new Int32Array(0) });
    }
  }

  private build(cell: Cell, z: number, t: number): void {
    const plane = `${z},${t}`;
    if (cell.plane === plane) return;
    const set = this.set;
    cell.paths = new Map();
    const points: number[] = [];
    for (const i of cell.shapes) {
      if (!set.onPlane(i, z, t)) continue;
      if (set.kind[i] === POINT) {
        points.push(i);
        continue;
      }
      let path = cell.paths.get(set.style[i]);
      if (!path) cell.paths.set(set.style[i], (path = new Path2D()));
      set.trace(path, i);
    }
    cell.points = Int32Array.from(points);
    cell.plane = plane;
  }

  private *visibleCells(view: View, margin: number): Generator<Cell> {
    const r = view.visible(margin);
    for (const cell of this.cells) {
      const [x0, y0, x1, y1] = cell.box;
      if (x1 >= r.x0 && x0 <= r.x1 && y1 >= r.y0 && y0 <= r.y1) yield cell;
    }
  }

  /** Stroke the shapes on plane (z, t) that the view shows; return how many cells were drawn. */
  draw(ctx: CanvasRenderingContext2D, view: View, z: number, t: number, lineWidth: number): number {
    const k = view.dpr * view.zoom;
    const cells = [...this.visibleCells(view, 8)];
    for (const cell of cells) this.build(cell, z, t);
    ctx.save();
    ctx.setTransform(k, 0, 0, k, view.dpr * (view.width / 2 - view.cx * view.zoom), view.dpr * (view.height / 2 - view.cy * view.zoom));
    ctx.lineWidth = lineWidth / view.zoom;
    for (let style = 0; style < this.set.styles.length; style++) {
      ctx.strokeStyle = this.set.styles[style];
      for (const cell of cells) {
        const path = cell.paths.get(style);
        if (path) ctx.stroke(path);
      }
    }
    ctx.restore();
    // Points keep their size on screen: drawn in screen space, one path per colour.
    const byStyle = new Map<number, Path2D>();
    const c = this.set.coords;
    for (const cell of cells) {
      for (const i of cell.points) {
        const s = this.set.start[i];
        const [sx, sy] = view.toScreen(c[s], c[s + 1]);
        if (sx < -8 || sy < -8 || sx > view.width + 8 || sy > view.height + 8) continue;
        let path = byStyle.get(this.set.style[i]);
        if (!path) byStyle.set(this.set.style[i], (path = new Path2D()));
        path.moveTo(sx + 4, sy);
        path.arc(sx, sy, 4, 0, 2 * Math.PI);
      }
    }
    if (byStyle.size) {
      ctx.save();
      ctx.setTransform(view.dpr, 0, 0, view.dpr, 0, 0);
      ctx.lineWidth = lineWidth;
      for (const [style, path] of byStyle) {
        ctx.strokeStyle = this.set.styles[style];
        ctx.stroke(path);
      }
      ctx.restore();
    }
    return cells.length;
  }

  /** The topmost shape on plane (z, t) under image point (x, y), or -1. */
  hit(x: number, y: number, tol: number, z: number, t: number): number {
    let best = -1;
    for (const cell of this.cells) {
      const [x0, y0, x1, y1] = cell.box;
      if (x < x0 - tol || x > x1 + tol || y < y0 - tol || y > y1 + tol) continue;
      for (const i of cell.shapes) {
        if (i > best && this.set.onPlane(i, z, t) && this.set.hits(i, x, y, tol)) best = i;
      }
    }
    return best;
  }

  /** Outline the given shapes (the selection) in one path, in image coordinates. */
  outline(indices: Iterable<number>): Path2D {
    const path = new Path2D();
    for (const i of indices) this.set.trace(path, i);
    return path;
  }
}
