// Tiles as decoded ImageBitmaps: a bounded cache, and a loader that keeps a few requests in flight,
// nearest the centre first, and drops requests the view no longer needs.

export class TileCache {
  private map = new Map<string, ImageBitmap>();

  constructor(private readonly capacity: number) {}

  get(key: string): ImageBitmap | undefined {
    const bitmap = this.map.get(key);
    if (bitmap) {
      this.map.delete(key); // most recently used last
      this.map.set(key, bitmap);
    }
    return bitmap;
  }

  /** Like get, without counting as a use (for drawing stand-ins from coarser levels). */
  peek(key: string): ImageBitmap | undefined {
    return this.map.get(key);
  }

  has(key: string): boolean {
    return this.map.has(key);
  }

  set(key: string, bitmap: ImageBitmap): void {
    this.map.get(key)?.close();
    this.map.delete(key);
    this.map.set(key, bitmap);
    while (this.map.size > this.capacity) {
      const [oldest, old] = this.map.entries().next().value as [string, ImageBitmap];
      old.close();
      this.map.delete(oldest);
    }
  }

  clear(): void {
    for (const bitmap of this.map.values()) bitmap.close();
    this.map.clear();
  }

  get size(): number {
    return this.map.size;
  }
}

export interface TileJob {
  key: string; // what the cache holds it under: rendering settings and tile address
  priority: number; // lower first
  fetch: (signal: AbortSignal) => Promise<ImageBitmap>;
}

export interface LoaderStats {
  loaded: number;
  failed: number;
  inFlight: number;
  queued: number;
}

/** Loads the jobs of the latest `want()` call into the cache, `concurrency` at a time. */
export class TileLoader {
  private queue: TileJob[] = [];
  private inFlight = new Map<string, AbortController>();
  private failedKeys = new Set<string>();
  loaded = 0;
  failed = 0;

  constructor(
    private readonly cache: TileCache,
    private readonly concurrency: number,
    private readonly onLoad: (key: string) => void
  ) {}

  /** Replace what is wanted: already cached or loading jobs are skipped, stale loads aborted. */
  want(jobs: TileJob[]): void {
    const wanted = new Set(jobs.map((job) => job.key));
    for (const [key, controller] of this.inFlight) {
      if (!wanted.has(key)) {
        controller.abort();
        this.inFlight.delete(key);
      }
    }
    this.queue = jobs
      .filter((job) => !this.cache.has(job.key) && !this.inFlight.has(job.key) && !this.failedKeys.has(job.key))
      .sort((a, b) => a.priority - b.priority);
    this.pump();
  }

  get stats(): LoaderStats {
    return { loaded: this.loaded, failed: this.failed, inFlight: this.inFlight.size, queued: this.queue.length };
  }

  get idle(): boolean {
    return this.inFlight.size === 0 && this.queue.length === 0;
  }

  isFailed(key: string): boolean {
    return this.failedKeys.has(key);
  }

  /** Forget failures (after the rendering settings change, say), so those tiles are asked again. */
  retryFailed(): void {
    this.failedKeys.clear();
  }

  stop(): void {
    for (const controller of this.inFlight.values()) controller.abort();
    this.inFlight.clear();
    this.queue = [];
  }

  private pump(): void {
    while (this.inFlight.size < this.concurrency && this.queue.length > 0) {
      const job = this.queue.shift()!;
      const controller = new AbortController();
      this.inFlight.set(job.key, controller);
      job
        .fetch(controller.signal)
        .then((bitmap) => {
          if (controller.signal.aborted) {
            bitmap.close();
            return;
          }
          this.cache.set(job.key, bitmap);
          this.loaded++;
        })
        .catch((error: unknown) => {
          if (controller.signal.aborted || (error as Error)?.name === 'AbortError') return;
          this.failed++;
          this.failedKeys.add(job.key);
          console.warn('scopehub: tile failed', job.key, error);
        })
        .finally(() => {
          if (this.inFlight.get(job.key) === controller) this.inFlight.delete(job.key);
          if (!controller.signal.aborted) this.onLoad(job.key);
          this.pump();
        });
    }
  }
}
