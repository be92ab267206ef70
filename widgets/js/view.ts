// The geometry of a view over an image pyramid: where the viewport is in image pixels, which
// pyramid level matches the screen's resolution, and which tiles of it cover the viewport.

export const TILE = 512; // the render route's tile side, the stored chunk size

export interface Level {
  size_x: number;
  size_y: number;
  scale: number; // downsampling against level 0
}

export interface TileId {
  level: number;
  x: number;
  y: number;
  priority: number; // lower first: distance from the viewport's centre, in tiles
}

export interface Rect {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

export class View {
  cx = 0; // the image pixel (level 0) at the centre of the viewport
  cy = 0;
  zoom = 1; // CSS pixels per image pixel
  width = 1; // viewport size in CSS pixels
  height = 1;
  dpr = 1;

  constructor(readonly imageWidth: number, readonly imageHeight: number) {
    this.cx = imageWidth / 2;
    this.cy = imageHeight / 2;
  }

  resize(width: number, height: number, dpr: number): void {
    this.width = Math.max(1, width);
    this.height = Math.max(1, height);
    this.dpr = dpr;
  }

  /** The zoom that shows the whole image. */
  fitZoom(): number {
    return Math.min(this.width / this.imageWidth, this.height / this.imageHeight);
  }

  fit(): void {
    this.cx = this.imageWidth / 2;
    this.cy = this.imageHeight / 2;
    this.zoom = this.fitZoom();
  }

  get minZoom(): number {
    return this.fitZoom() / 4;
  }

  get maxZoom(): number {
    return 64;
  }

  toScreen(x: number, y: number): [number, number] {
    return [(x - this.cx) * this.zoom + this.width / 2, (y - this.cy) * this.zoom + this.height / 2];
  }

  toImage(sx: number, sy: number): [number, number] {
    return [(sx - this.width / 2) / this.zoom + this.cx, (sy - this.height / 2) / this.zoom + this.cy];
  }

  /** Zoom by `factor`, keeping the image point under screen point (sx, sy) where it is. */
  zoomAt(factor: number, sx: number, sy: number): void {
    const [ix, iy] = this.toImage(sx, sy);
    this.zoom = Math.min(this.maxZoom, Math.max(this.minZoom, this.zoom * factor));
    this.cx = ix - (sx - this.width / 2) / this.zoom;
    this.cy = iy - (sy - this.height / 2) / this.zoom;
    this.clampCentre();
  }

  panBy(dx: number, dy: number): void {
    this.cx -= dx / this.zoom;
    this.cy -= dy / this.zoom;
    this.clampCentre();
  }

  /** The centre stays over the image: panning cannot lose it off screen. */
  clampCentre(): void {
    this.cx = Math.min(this.imageWidth, Math.max(0, this.cx));
    this.cy = Math.min(this.imageHeight, Math.max(0, this.cy));
  }

  /** The visible part of the image plane, in level-0 pixels (may reach past the image's edges). */
  visible(margin = 0): Rect {
    const [x0, y0] = this.toImage(-margin, -margin);
    const [x1, y1] = this.toImage(this.width + margin, this.height + margin);
    return { x0, y0, x1, y1 };
  }

  /** The coarsest level that still has at least one pixel per device pixel. */
  levelFor(levels: Level[]): number {
    const devicePixelsPerImagePixel = this.zoom * this.dpr;
    let best = 0;
    for (let i = 0; i < levels.length; i++) {
      // 1.1: a level a touch coarser than the screen looks the same and costs a quarter of the tiles
      if (levels[i].scale * devicePixelsPerImagePixel <= 1.1) best = i;
    }
    return best;
  }

  /** Tiles of `level` that cover the viewport (grown by `ring` tiles), nearest the centre first. */
  tiles(levels: Level[], level: number, ring = 0): TileId[] {
    const { size_x, size_y, scale } = levels[level];
    const side = TILE * scale; // a tile's side in level-0 pixels
    const r = this.visible();
    const cols = Math.ceil(size_x / TILE);
    const rows = Math.ceil(size_y / TILE);
    const tx0 = Math.max(0, Math.floor(r.x0 / side) - ring);
    const ty0 = Math.max(0, Math.floor(r.y0 / side) - ring);
    const tx1 = Math.min(cols - 1, Math.floor(r.x1 / side) + ring);
    const ty1 = Math.min(rows - 1, Math.floor(r.y1 / side) + ring);
    const out: TileId[] = [];
    const ccx = this.cx / side - 0.5;
    const ccy = this.cy / side - 0.5;
    for (let y = ty0; y <= ty1; y++) {
      for (let x = tx0; x <= tx1; x++) {
        out.push({ level, x, y, priority: Math.hypot(x - ccx, y - ccy) });
      }
    }
    out.sort((a, b) => a.priority - b.priority);
    return out;
  }

  /** Where a tile lands on screen, in CSS pixels, its edges on whole device pixels (no seams). */
  tileRect(levels: Level[], level: number, x: number, y: number): Rect {
    const { size_x, size_y, scale } = levels[level];
    const w = Math.min(TILE, size_x - x * TILE) * scale;
    const h = Math.min(TILE, size_y - y * TILE) * scale;
    const [sx0, sy0] = this.toScreen(x * TILE * scale, y * TILE * scale);
    const [sx1, sy1] = this.toScreen(x * TILE * scale + w, y * TILE * scale + h);
    const snap = (v: number) => Math.round(v * this.dpr) / this.dpr;
    return { x0: snap(sx0), y0: snap(sy0), x1: snap(sx1), y1: snap(sy1) };
  }
}

/** A round length for a scale bar: 1, 2 or 5 × 10^n, at most `most`. */
export function niceLength(most: number): number {
  if (!(most > 0)) return 0;
  const power = Math.pow(10, Math.floor(Math.log10(most)));
  for (const step of [5, 2, 1]) {
    if (step * power <= most) return step * power;
  }
  return power;
}

/** A length in micrometres as people write it: 500 nm, 20 µm, 1.5 mm. */
export function formatLength(um: number): string {
  const fmt = (v: number) => String(Number(v.toPrecision(3)));
  if (um < 1) return `${fmt(um * 1000)} nm`;
  if (um >= 1000) return `${fmt(um / 1000)} mm`;
  return `${fmt(um)} µm`;
}
