// The channel controls of the Viewer: on/off, colour, and the display window over a histogram of
// the plane (drag on the histogram, or type the numbers).

import { h, throttle } from './widget';

export interface Channel {
  name: string;
  active: boolean;
  color: string; // RRGGBB or a lookup table name (`glasbey.lut`)
  start: number;
  end: number;
  inverted: boolean;
  min: number | null; // the channel's data range, for the sliders
  max: number | null;
}

export interface Histogram {
  min: number;
  max: number;
  bin_width: number;
  counts: number[];
}

export interface ChannelPanelEvents {
  /** `commit` false while dragging: the Viewer may wait before asking for tiles. */
  changed(channels: Channel[], commit: boolean): void;
}

const isHex = (color: string) => /^[0-9a-fA-F]{6}$/.test(color);

function formatValue(v: number): string {
  return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(5)));
}

class ChannelRow {
  readonly element: HTMLDivElement;
  private checkbox: HTMLInputElement;
  private colour: HTMLInputElement;
  private lut: HTMLSpanElement;
  private canvas: HTMLCanvasElement;
  private startInput: HTMLInputElement;
  private endInput: HTMLInputElement;
  histogram: Histogram | null = null;
  private drag: 'start' | 'end' | null = null;

  constructor(private panel: ChannelPanel, readonly index: number) {
    this.checkbox = h('input', { type: 'checkbox', 'data-channel': index, title: 'show this channel',
      onchange: () => this.edit({ active: this.checkbox.checked }, true) });
    this.colour = h('input', { type: 'color', class: 'sh-colour', 'data-channel': index, title: 'colour',
      oninput: () => this.edit({ color: this.colour.value.slice(1).toUpperCase() }, false),
      onchange: () => this.edit({ color: this.colour.value.slice(1).toUpperCase() }, true) });
    this.lut = h('span', { class: 'sh-lut' });
    this.canvas = h('canvas', { class: 'sh-histogram', width: 440, height: 72, title: 'drag to set the window' });
    const number = (which: 'start' | 'end') => h('input', { type: 'number', class: `sh-${which}`, step: 'any',
      'data-channel': index, onchange: (e: Event) => {
        const v = Number((e.target as HTMLInputElement).value);
        if (Number.isFinite(v)) this.edit({ [which]: v }, true);
      } });
    this.startInput = number('start');
    this.endInput = number('end');
    this.element = h('div', { class: 'sh-channel', 'data-channel': index },
      h('label', { class: 'sh-channel-head' }, this.checkbox, this.colour, this.lut, h('span', { class: 'sh-channel-name' })),
      this.canvas,
      h('div', { class: 'sh-window' }, this.startInput, h('span', { class: 'sh-dash' }, '–'), this.endInput));
    this.bindHistogramDrag();
  }

  private get channel(): Channel {
    return this.panel.channels[this.index];
  }

  private edit(fields: Partial<Channel>, commit: boolean): void {
    this.panel.edit(this.index, fields, commit);
  }

  update(): void {
    const c = this.channel;
    this.checkbox.checked = c.active;
    (this.element.querySelector('.sh-channel-name') as HTMLElement).textContent = c.name || `Channel ${this.index + 1}`;
    this.element.classList.toggle('sh-off', !c.active);
    if (isHex(c.color)) {
      this.colour.hidden = false;
      this.lut.hidden = true;
      if (document.activeElement !== this.colour) this.colour.value = `#${c.color.toLowerCase()}`;
    } else {
      this.colour.hidden = true;
      this.lut.hidden = false;
      this.lut.textContent = c.color.replace(/\.lut$/, '');
    }
    if (document.activeElement !== this.startInput) this.startInput.value = formatValue(c.start);
    if (document.activeElement !== this.endInput) this.endInput.value = formatValue(c.end);
    this.drawHistogram();
  }

  /** The value range the histogram spans: the histogram's own, else the channel's data range. */
  private range(): [number, number] {
    const c = this.channel;
    if (this.histogram && this.histogram.max > this.histogram.min) {
      return [Math.min(this.histogram.min, c.start), Math.max(this.histogram.max, c.end)];
    }
    const lo = c.min ?? Math.min(0, c.start);
    const hi = c.max ?? c.end;
    return hi > lo ? [Math.min(lo, c.start), Math.max(hi, c.end)] : [lo, lo + 1];
  }

  drawHistogram(): void {
    const ctx = this.canvas.getContext('2d');
    if (!ctx) return;
    const { width, height } = this.canvas;
    const c = this.channel;
    const [lo, hi] = this.range();
    const x = (v: number) => ((v - lo) / (hi - lo)) * width;
    ctx.clearRect(0, 0, width, height);
    const colour = isHex(c.color) ? `#${c.color}` : '#bbbbbb';
    const hist = this.histogram;
    if (hist && hist.counts.length) {
      const peak = Math.log1p(Math.max(...hist.counts));
      ctx.fillStyle = colour;
      ctx.globalAlpha = c.active ? 0.85 : 0.35;
      for (let i = 0; i < hist.counts.length; i++) {
        const v0 = hist.min + i * hist.bin_width;
        const bh = peak > 0 ? (Math.log1p(hist.counts[i]) / peak) * (height - 4) : 0;
        const x0 = x(v0);
        const x1 = Math.max(x0 + 1, x(v0 + hist.bin_width));
        ctx.fillRect(x0, height - bh, x1 - x0, bh);
      }
      ctx.globalAlpha = 1;
    }
    // Outside the window: dimmed; its edges: handles.
    ctx.fillStyle = 'rgba(0,0,0,0.35)';
    ctx.fillRect(0, 0, Math.max(0, x(c.start)), height);
    ctx.fillRect(x(c.end), 0, width - x(c.end), height);
    ctx.strokeStyle = c.active ? '#ffffff' : '#999999';
    ctx.lineWidth = 3;
    for (const v of [c.start, c.end]) {
      ctx.beginPath();
      ctx.moveTo(x(v), 0);
      ctx.lineTo(x(v), height);
      ctx.stroke();
    }
  }

  private bindHistogramDrag(): void {
    const valueAt = (event: PointerEvent) => {
      const rect = this.canvas.getBoundingClientRect();
      const [lo, hi] = this.range();
      const v = lo + ((event.clientX - rect.left) / rect.width) * (hi - lo);
      return Number.isInteger(this.channel.start) && Number.isInteger(this.channel.end) && hi - lo > 50 ? Math.round(v) : v;
    };
    const move = (event: PointerEvent, commit: boolean) => {
      if (!this.drag) return;
      const v = valueAt(event);
      const c = this.channel;
      if (this.drag === 'start') this.edit({ start: Math.min(v, c.end) }, commit);
      else this.edit({ end: Math.max(v, c.start) }, commit);
    };
    this.canvas.addEventListener('pointerdown', (event) => {
      const v = valueAt(event);
      const c = this.channel;
      this.drag = Math.abs(v - c.start) <= Math.abs(v - c.end) ? 'start' : 'end';
      this.canvas.setPointerCapture(event.pointerId);
      move(event, false);
    });
    this.canvas.addEventListener('pointermove', (event) => move(event, false));
    const up = (event: PointerEvent) => {
      move(event, true);
      this.drag = null;
    };
    this.canvas.addEventListener('pointerup', up);
    this.canvas.addEventListener('pointercancel', up);
  }
}

export class ChannelPanel {
  readonly element: HTMLDivElement;
  channels: Channel[] = [];
  greyscale = false;
  private rows: ChannelRow[] = [];
  private commitLater: () => void;

  constructor(private events: ChannelPanelEvents) {
    this.element = h('div', { class: 'sh-channels' });
    // While a window is dragged, ask for new tiles a few times a second, not for every pixel moved.
    this.commitLater = throttle(() => this.events.changed(this.channels, true), 250);
  }

  set(channels: Channel[], greyscale: boolean): void {
    this.channels = channels.map((c) => ({ ...c }));
    this.greyscale = greyscale;
    if (this.rows.length !== channels.length) {
      this.rows = channels.map((_, i) => new ChannelRow(this, i));
      this.element.replaceChildren(...this.rows.map((r) => r.element));
    }
    for (const row of this.rows) row.update();
  }

  setHistogram(index: number, histogram: Histogram | null): void {
    const row = this.rows[index];
    if (!row) return;
    row.histogram = histogram;
    row.drawHistogram();
  }

  edit(index: number, fields: Partial<Channel>, commit: boolean): void {
    // Greyscale shows one channel: turning one on turns the others off.
    if (this.greyscale && fields.active) this.channels.forEach((c, i) => (c.active = i === index));
    Object.assign(this.channels[index], fields);
    this.rows[index].update();
    if (this.greyscale && fields.active) this.rows.forEach((r) => r.update());
    if (commit) this.events.changed(this.channels, true);
    else {
      this.events.changed(this.channels, false);
      this.commitLater();
    }
  }
}
