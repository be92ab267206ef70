// How a widget reaches the scopehub API: over HTTP on the page's own origin (the server extension,
// with the page's cookie and _xsrf token), or, where no server extension answers (VS Code, a
// notebook viewer on another host), through the kernel over the widget's comm.

import type { WidgetModel } from './widget';

export type Query = Record<string, string | number | boolean | null | undefined> | string;

export interface RequestOptions {
  query?: Query;
  json?: unknown;
  signal?: AbortSignal;
}

export interface Reply {
  status: number;
  contentType: string;
  body: ArrayBuffer;
}

export interface Transport {
  readonly kind: 'http' | 'comm';
  request(method: string, path: string, options?: RequestOptions): Promise<Reply>;
  close(): void;
}

/** An error reply, with the API's message (`{"error": {"code", "message"}}`) when it sent one. */
export class ApiError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

export function queryString(query: Query | undefined): string {
  if (!query) return '';
  if (typeof query === 'string') return query;
  const parts: string[] = [];
  for (const [name, value] of Object.entries(query)) {
    if (value === undefined || value === null || value === '') continue;
    parts.push(`${encodeURIComponent(name)}=${encodeURIComponent(String(value))}`);
  }
  return parts.join('&');
}

export function decodeJson<T = any>(reply: Reply): T {
  return JSON.parse(new TextDecoder().decode(reply.body)) as T;
}

function failure(reply: Reply): ApiError {
  let message = `HTTP ${reply.status}`;
  try {
    const body = decodeJson(reply);
    if (body?.error?.message) message = body.error.message;
  } catch {
    // not JSON: keep the status
  }
  return new ApiError(reply.status, message);
}

/** GET (or another verb) that must succeed, as parsed JSON. */
export async function requestJson<T = any>(
  transport: Transport,
  method: string,
  path: string,
  options: RequestOptions = {}
): Promise<T> {
  const reply = await transport.request(method, path, options);
  if (reply.status < 200 || reply.status >= 300) throw failure(reply);
  return reply.status === 204 ? (null as T) : decodeJson<T>(reply);
}

/** A request that must succeed, as a Blob of its content type (tiles, thumbnails). */
export async function requestBlob(transport: Transport, path: string, options: RequestOptions = {}): Promise<Blob> {
  const reply = await transport.request('GET', path, options);
  if (reply.status !== 200) throw failure(reply);
  return new Blob([reply.body], { type: reply.contentType });
}

// ---- HTTP -------------------------------------------------------------------------------------
/** The page's Jupyter base URL (`/` or `/user/bob/`) from JupyterLab's page config, if any. */
export function pageBaseUrl(): string | null {
  const el = document.getElementById('jupyter-config-data');
  if (!el?.textContent) return null;
  try {
    const base = JSON.parse(el.textContent).baseUrl;
    return typeof base === 'string' ? (base.endsWith('/') ? base : base + '/') : null;
  } catch {
    return null;
  }
}

function xsrfToken(): string | null {
  const match = document.cookie.match(/(?:^|;\s*)_xsrf=([^;]*)/);
  return match ? decodeURIComponent(match[1]) : null;
}

/** On every request, as JupyterLab does: Jupyter refuses cookie-authenticated writes without it, and a
 * JupyterHub user's server (4.1 and later) refuses cookie-authenticated fetches of any kind. */
function xsrfHeaders(): Record<string, string> {
  const xsrf = xsrfToken();
  return xsrf ? { 'X-XSRFToken': xsrf } : {};
}

export class HttpTransport implements Transport {
  readonly kind = 'http';

  constructor(readonly apiBase: string) {}

  async request(method: string, path: string, options: RequestOptions = {}): Promise<Reply> {
    const qs = queryString(options.query);
    const headers = xsrfHeaders();
    let body: string | undefined;
    if (options.json !== undefined) {
      headers['Content-Type'] = 'application/json';
      body = JSON.stringify(options.json);
    }
    const response = await fetch(this.apiBase + path + (qs ? `?${qs}` : ''), {
      method,
      headers,
      body,
      credentials: 'same-origin',
      signal: options.signal,
    });
    return {
      status: response.status,
      contentType: response.headers.get('Content-Type') ?? '',
      body: await response.arrayBuffer(),
    };
  }

  close(): void {}
}

// ---- the comm ---------------------------------------------------------------------------------
interface Pending {
  resolve: (reply: Reply) => void;
  reject: (error: Error) => void;
}

/** Requests relayed by the kernel: `{type: "request", id, method, path, query, body}` goes out,
 * `{type: "reply", id, status, content_type}` with the body as one binary buffer comes back. */
export class CommTransport implements Transport {
  readonly kind = 'comm';
  private next = 1;
  private pending = new Map<number, Pending>();
  private readonly onMessage = (msg: any, buffers?: (DataView | ArrayBuffer)[]) => {
    if (!msg || msg.type !== 'reply' || !this.pending.has(msg.id)) return;
    const waiting = this.pending.get(msg.id)!;
    this.pending.delete(msg.id);
    const buffer = buffers?.[0];
    let body = new ArrayBuffer(0);
    if (buffer instanceof DataView) {
      body = buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.byteLength) as ArrayBuffer;
    } else if (buffer) {
      body = buffer;
    }
    waiting.resolve({ status: msg.status, contentType: msg.content_type ?? '', body });
  };

  constructor(private readonly model: WidgetModel) {
    model.on('msg:custom', this.onMessage);
  }

  request(method: string, path: string, options: RequestOptions = {}): Promise<Reply> {
    const id = this.next++;
    return new Promise<Reply>((resolve, reject) => {
      if (options.signal?.aborted) {
        reject(new DOMException('aborted', 'AbortError'));
        return;
      }
      this.pending.set(id, { resolve, reject });
      options.signal?.addEventListener('abort', () => {
        if (this.pending.delete(id)) {
          this.model.send({ type: 'cancel', id });
          reject(new DOMException('aborted', 'AbortError'));
        }
      });
      this.model.send({
        type: 'request',
        id,
        method,
        path,
        query: queryString(options.query),
        body: options.json === undefined ? null : options.json,
      });
    });
  }

  close(): void {
    this.model.off('msg:custom', this.onMessage);
    for (const waiting of this.pending.values()) waiting.reject(new Error('widget closed'));
    this.pending.clear();
  }
}

// ---- choosing ---------------------------------------------------------------------------------
const probes = new Map<string, Promise<boolean>>();
// Long enough for a loaded server's first answer (the hub checks the login cookie once); a page that
// has no server beside it (VS Code) has no base URL and goes to the comm without asking.
const PROBE_TIMEOUT_MS = 20000;

/** Does the scopehub API answer on this page's origin? Asked once per page and base URL; a probe that
 * timed out (a busy server, a hub checking the login) is asked again by the next widget. */
function probe(apiBase: string): Promise<boolean> {
  let found = probes.get(apiBase);
  if (!found) {
    found = (async () => {
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(), PROBE_TIMEOUT_MS);
      try {
        const r = await fetch(apiBase, { credentials: 'same-origin', headers: xsrfHeaders(), signal: controller.signal });
        if (!r.ok) return false;
        const body = await r.json();
        return typeof body?.api_version !== 'undefined';
      } catch {
        if (controller.signal.aborted) probes.delete(apiBase);
        return false;
      } finally {
        clearTimeout(timer);
      }
    })();
    probes.set(apiBase, found);
  }
  return found;
}

/** The transport for a widget: its `transport` trait says "auto" (probe, then comm), "http" or "comm". */
export async function openTransport(model: WidgetModel): Promise<Transport> {
  const mode = model.get('transport') ?? 'auto';
  if (mode !== 'comm') {
    const base = pageBaseUrl();
    const apiBase = (base ?? '/') + 'scopehub/api/v1/';
    if (mode === 'http' || (base !== null && (await probe(apiBase)))) return new HttpTransport(apiBase);
  }
  return new CommTransport(model);
}
