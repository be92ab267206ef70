// The few parts of anywidget's front-end contract these widgets use, typed here so that the bundle
// needs no @anywidget/types package.

export type Handler = (...args: any[]) => void;

export interface WidgetModel {
  get(name: string): any;
  set(name: string, value: unknown): void;
  save_changes(): void;
  on(event: string, callback: Handler): void;
  off(event?: string | null, callback?: Handler | null): void;
  send(content: unknown, callbacks?: unknown, buffers?: (ArrayBuffer | ArrayBufferView)[]): void;
}

export interface RenderProps {
  model: WidgetModel;
  el: HTMLElement;
}

/** `h('div', {class: 'x', onclick: f}, child, 'text')`: a small element builder. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, unknown> = {},
  ...children: (Node | string | number | null | undefined | false)[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') {
      el.addEventListener(name.slice(2), value as EventListener);
    } else if (name === 'style' && typeof value === 'object') {
      Object.assign(el.style, value);
    } else if (name in el && typeof value !== 'string') {
      (el as any)[name] = value;
    } else {
      el.setAttribute(name, value === true ? '' : String(value));
    }
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    el.append(typeof child === 'number' ? String(child) : child);
  }
  return el;
}

/** Listen to a model event until the returned function is called (render's clean-up). */
export function listen(model: WidgetModel, event: string, callback: Handler): () => void {
  model.on(event, callback);
  return () => model.off(event, callback);
}

/** Calls `fn` at most once per `ms`, always with the latest arguments, and once more at the end. */
export function throttle<A extends unknown[]>(fn: (...args: A) => void, ms: number): (...args: A) => void {
  let last = 0;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let pending: A | null = null;
  return (...args: A) => {
    pending = args;
    const wait = last + ms - performance.now();
    if (wait <= 0 && timer === null) {
      last = performance.now();
      fn(...args);
      pending = null;
    } else if (timer === null) {
      timer = setTimeout(() => {
        timer = null;
        last = performance.now();
        if (pending) fn(...pending);
        pending = null;
      }, Math.max(wait, 0));
    }
  };
}
