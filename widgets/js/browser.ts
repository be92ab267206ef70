// The Browser widget's front-end: projects, datasets and images as a tree with thumbnails, search,
// owner and group filters, pages of a hundred for datasets of 10^4 images. The selection goes to
// Python (`selected`); opening an image sets `opened`, and Python shows a Viewer for it.

import { icon } from './icons';
import { HttpTransport, openTransport, requestBlob, requestJson, type Transport } from './transport';
import { h, listen, type RenderProps, type WidgetModel } from './widget';

type Kind = 'project' | 'dataset' | 'image';

interface Item {
  id: number;
  type: Kind;
  name: string;
  child_count?: number | null;
  owner?: { id: number; username: string };
  group?: { id: number; name: string };
  pixels?: { size_x: number; size_y: number; size_z: number | null; size_c: number | null; size_t: number | null } | null;
}

interface Page {
  items: Item[];
  offset: number;
  limit: number;
  total: number;
}

interface Entry {
  type: Kind;
  id: number;
  name: string;
}

/** One list of the tree (a project's datasets, a dataset's images, ...), a page at a time. */
class ListNode {
  readonly element: HTMLDivElement;
  private offset = 0;
  rows: { item: Item; row: HTMLElement }[] = [];

  constructor(
    private browser: BrowserSession,
    private route: string,
    private params: Record<string, string | number | undefined>,
    private depth: number,
    private emptyText: string
  ) {
    this.element = h('div', { class: 'sh-list', 'data-route': route });
  }

  async load(offset = this.offset): Promise<void> {
    this.offset = offset;
    this.element.replaceChildren(h('div', { class: 'sh-loading', style: { paddingLeft: `${this.indent()}px` } }, 'Loading…'));
    try {
      const page = await requestJson<Page>(this.browser.transport, 'GET', this.route, {
        query: { ...this.params, ...this.browser.filters(this.route), offset, limit: this.browser.pageSize } });
      this.render(page);
    } catch (error) {
      this.element.replaceChildren(h('div', { class: 'sh-empty sh-error', style: { paddingLeft: `${this.indent()}px` } },
        `Could not load: ${(error as Error).message}`));
    }
  }

  private indent(): number {
    return 8 + this.depth * 18;
  }

  private render(page: Page): void {
    this.rows = page.items.map((item) => ({ item, row: this.browser.row(item, this.depth, this) }));
    const children: HTMLElement[] = [];
    for (const { row } of this.rows) {
      children.push(row);
      const holder = (row as any).childHolder as HTMLElement | undefined;
      if (holder) children.push(holder);
    }
    if (!page.items.length) {
      children.push(h('div', { class: 'sh-empty', style: { paddingLeft: `${this.indent()}px` } }, this.emptyText));
    }
    if (page.total > page.limit) {
      const last = Math.min(page.offset + page.items.length, page.total);
      const pages = Math.ceil(page.total / page.limit);
      const current = Math.floor(page.offset / page.limit) + 1;
      children.push(h('div', { class: 'sh-pager', style: { paddingLeft: `${this.indent()}px` } },
        h('button', { 'data-action': 'prev', disabled: page.offset === 0, onclick: () => this.load(Math.max(0, page.offset - page.limit)) }, '‹'),
        h('span', { class: 'sh-pager-text' }, `${page.offset + 1}–${last} of ${page.total.toLocaleString('en')}`),
        h('button', { 'data-action': 'next', disabled: last >= page.total, onclick: () => this.load(page.offset + page.limit) }, '›'),
        pages > 2 && h('input', { type: 'number', class: 'sh-page', min: 1, max: pages, value: current, title: 'page',
          onchange: (e: Event) => {
            const n = Math.min(pages, Math.max(1, Number((e.target as HTMLInputElement).value) || 1));
            void this.load((n - 1) * page.limit);
          } }),
        pages > 2 && h('span', { class: 'sh-pager-text' }, `of ${pages}`)));
    }
    this.element.replaceChildren(...children);
  }
}

class BrowserSession {
  transport!: Transport;
  pageSize = 100;
  readonly element: HTMLDivElement;
  private tree: HTMLDivElement;
  private search: HTMLInputElement;
  private owner: HTMLSelectElement;
  private group: HTMLSelectElement;
  private footer: HTMLSpanElement;
  private openButton: HTMLButtonElement;
  private selection = new Map<string, { entry: Entry; row: HTMLElement }>();
  private anchor: { list: ListNode; index: number } | null = null;
  private cleanups: (() => void)[] = [];
  private objectUrls: string[] = [];
  private thumbnails: IntersectionObserver;
  private searchTimer: ReturnType<typeof setTimeout> | null = null;
  private closed = false;

  constructor(private model: WidgetModel, root: HTMLElement) {
    this.search = h('input', { type: 'search', class: 'sh-search', placeholder: 'Search names, tags, key-values…',
      value: model.get('query') ?? '', oninput: () => this.searchSoon() });
    this.owner = h('select', { class: 'sh-owner', title: 'owner', onchange: () => this.setFilter('owner', this.owner.value) },
      h('option', { value: '0' }, 'Everyone'));
    this.group = h('select', { class: 'sh-group', title: 'group', onchange: () => this.setFilter('group', this.group.value) },
      h('option', { value: '0' }, 'All groups'));
    const refresh = h('button', { class: 'sh-tool', title: 'Reload', 'aria-label': 'Reload', onclick: () => this.reload() });
    refresh.innerHTML = icon('refresh');
    this.tree = h('div', { class: 'sh-tree', tabindex: 0, style: { height: `${model.get('height') ?? 420}px` },
      onkeydown: (e: KeyboardEvent) => this.onKey(e) });
    this.footer = h('span', { class: 'sh-selection' }, 'Nothing selected');
    this.openButton = h('button', { class: 'sh-button', 'data-action': 'open', disabled: true, onclick: () => this.openSelected() }, 'Open');
    const searchBox = h('div', { class: 'sh-search-box' }, h('span', { class: 'sh-search-icon' }), this.search);
    (searchBox.firstChild as HTMLElement).innerHTML = icon('search');
    this.element = h('div', { class: 'sh-browser-inner' },
      h('div', { class: 'sh-browser-bar' }, searchBox, this.owner, this.group, refresh),
      this.tree,
      h('div', { class: 'sh-browser-foot' }, this.footer, h('span', { class: 'sh-grow' }), this.openButton));
    root.append(this.element);
    this.thumbnails = new IntersectionObserver((entries) => {
      for (const entry of entries) {
        if (!entry.isIntersecting) continue;
        this.thumbnails.unobserve(entry.target);
        void this.loadThumbnail(entry.target as HTMLImageElement);
      }
    }, { root: this.tree, rootMargin: '200px' });
  }

  async start(): Promise<void> {
    try {
      this.transport = await openTransport(this.model);
    } catch (error) {
      this.tree.replaceChildren(h('div', { class: 'sh-empty sh-error' }, String(error)));
      return;
    }
    if (this.closed) return;
    this.element.parentElement!.dataset.transport = this.transport.kind;
    this.pageSize = this.model.get('page_size') ?? 100;
    void this.loadFilters();
    this.reload();
    const on = (event: string, fn: () => void) => this.cleanups.push(listen(this.model, event, fn));
    on('change:query', () => {
      if (this.search.value !== this.model.get('query')) {
        this.search.value = this.model.get('query');
        this.reload();
      }
    });
    on('change:owner', () => { this.owner.value = String(this.model.get('owner') ?? 0); this.reload(); });
    on('change:group', () => { this.group.value = String(this.model.get('group') ?? 0); this.reload(); });
    on('change:page_size', () => { this.pageSize = this.model.get('page_size'); this.reload(); });
    on('change:height', () => (this.tree.style.height = `${this.model.get('height')}px`));
  }

  private async loadFilters(): Promise<void> {
    try {
      const [users, groups] = await Promise.all([
        requestJson<{ items: { id: number; username: string; display_name?: string | null }[] }>(this.transport, 'GET', 'users', { query: { limit: 1000 } }),
        requestJson<{ items: { id: number; name: string }[] }>(this.transport, 'GET', 'groups', { query: { limit: 1000 } }),
      ]);
      for (const u of users.items) this.owner.append(h('option', { value: u.id }, u.display_name || u.username));
      for (const g of groups.items) this.group.append(h('option', { value: g.id }, g.name));
      this.owner.value = String(this.model.get('owner') ?? 0);
      this.group.value = String(this.model.get('group') ?? 0);
    } catch {
      // The filters are a convenience: without them the tree still works.
    }
  }

  /** owner= and group= for the container lists (search has its own rules). */
  filters(route: string): Record<string, number | undefined> {
    if (route === 'search') return {};
    const owner = Number(this.model.get('owner') ?? 0);
    const group = Number(this.model.get('group') ?? 0);
    return { owner: owner || undefined, group: group || undefined };
  }

  private setFilter(name: 'owner' | 'group', value: string): void {
    this.model.set(name, Number(value));
    this.model.save_changes();
    this.reload();
  }

  private searchSoon(): void {
    if (this.searchTimer) clearTimeout(this.searchTimer);
    this.searchTimer = setTimeout(() => {
      this.model.set('query', this.search.value.trim());
      this.model.save_changes();
      this.reload();
    }, 300);
  }

  reload(): void {
    this.clearSelection();
    const q = (this.model.get('query') ?? '').trim();
    if (q) {
      const results = new ListNode(this, 'search', { q, type: 'project,dataset,image' }, 0, `Nothing matches “${q}”.`);
      this.tree.replaceChildren(h('div', { class: 'sh-heading' }, `Results for “${q}”`), results.element);
      void results.load(0);
      return;
    }
    const projects = new ListNode(this, 'projects', { order: 'name' }, 0, 'No projects.');
    const datasets = new ListNode(this, 'datasets', { orphaned: 'true', order: 'name' }, 0, 'None.');
    const images = new ListNode(this, 'images', { orphaned: 'true', order: 'name' }, 0, 'None.');
    this.tree.replaceChildren(
      h('div', { class: 'sh-heading' }, 'Projects'), projects.element,
      h('div', { class: 'sh-heading' }, 'Datasets without a project'), datasets.element,
      h('div', { class: 'sh-heading' }, 'Images without a dataset'), images.element);
    void projects.load(0);
    void datasets.load(0);
    void images.load(0);
  }

  /** A row of the tree; containers get a twisty and a place for their children. */
  row(item: Item, depth: number, list: ListNode): HTMLElement {
    const type = item.type;
    const key = `${type}:${item.id}`;
    const twisty = h('span', { class: 'sh-twisty' });
    const expandable = type !== 'image';
    if (expandable) twisty.textContent = '▸';
    const picture = h('span', { class: 'sh-icon' });
    if (type === 'image') {
      const img = h('img', { class: 'sh-thumb', alt: '', width: 32, height: 32, 'data-image': item.id });
      picture.append(img);
      this.thumbnails.observe(img);
    } else {
      picture.innerHTML = icon(type);
    }
    const details = [] as string[];
    if (type !== 'image' && item.child_count != null) details.push(String(item.child_count));
    if (type === 'image' && item.pixels) {
      const p = item.pixels;
      details.push(`${p.size_x}×${p.size_y}${(p.size_c ?? 1) > 1 ? ` · ${p.size_c} ch` : ''}${(p.size_z ?? 1) > 1 ? ` · ${p.size_z} z` : ''}${(p.size_t ?? 1) > 1 ? ` · ${p.size_t} t` : ''}`);
    }
    const row = h('div', { class: `sh-row sh-${type}`, 'data-type': type, 'data-id': item.id, role: 'treeitem',
      title: `${item.name}${item.owner ? ` — ${item.owner.username}, ${item.group?.name ?? ''}` : ''}`,
      style: { paddingLeft: `${8 + depth * 18}px` } },
      twisty, picture, h('span', { class: 'sh-name' }, item.name),
      details.length ? h('span', { class: 'sh-detail' }, details.join(' ')) : null);
    let children: HTMLDivElement | null = null;
    if (expandable) {
      children = h('div', { class: 'sh-children', hidden: true });
      (row as any).childHolder = children;
      const toggle = () => {
        const open = children!.hidden === true;
        children!.hidden = !open;
        twisty.textContent = open ? '▾' : '▸';
        row.classList.toggle('sh-open', open);
        if (open && !children!.childElementCount) {
          const node = type === 'project'
            ? new ListNode(this, 'datasets', { project: item.id, order: 'name' }, depth + 1, 'No datasets.')
            : new ListNode(this, 'images', { dataset: item.id, order: 'name' }, depth + 1, 'No images.');
          children!.append(node.element);
          void node.load(0);
        }
      };
      twisty.addEventListener('click', (e) => {
        e.stopPropagation();
        toggle();
      });
      row.addEventListener('dblclick', toggle);
    } else {
      row.addEventListener('dblclick', () => this.open({ type, id: item.id, name: item.name }));
    }
    row.addEventListener('click', (e) => this.onClick(e, item, row, list));
    if (this.selection.has(key)) row.classList.add('sh-selected');
    return row;
  }

  private async loadThumbnail(img: HTMLImageElement): Promise<void> {
    const id = img.dataset.image;
    const size = Math.round(32 * (window.devicePixelRatio || 1) * 1.5);
    if (this.transport instanceof HttpTransport) {
      img.src = `${this.transport.apiBase}images/${id}/thumbnail?size=${size}`;
      return;
    }
    try {
      const blob = await requestBlob(this.transport, `images/${id}/thumbnail`, { query: { size } });
      const url = URL.createObjectURL(blob);
      this.objectUrls.push(url);
      img.src = url;
    } catch {
      img.classList.add('sh-thumb-missing');
    }
  }

  // ---- selection --------------------------------------------------------------------------------
  private onClick(event: MouseEvent, item: Item, row: HTMLElement, list: ListNode): void {
    const entry: Entry = { type: item.type, id: item.id, name: item.name };
    const key = `${item.type}:${item.id}`;
    const index = list.rows.findIndex((r) => r.item === item);
    if (event.shiftKey && this.anchor && this.anchor.list === list) {
      const [a, b] = [Math.min(this.anchor.index, index), Math.max(this.anchor.index, index)];
      this.clearSelection(false);
      for (const r of list.rows.slice(a, b + 1)) this.addSelection({ type: r.item.type, id: r.item.id, name: r.item.name }, r.row);
    } else if (event.ctrlKey || event.metaKey) {
      if (this.selection.has(key)) {
        this.selection.get(key)!.row.classList.remove('sh-selected');
        this.selection.delete(key);
      } else this.addSelection(entry, row);
      this.anchor = { list, index };
    } else {
      this.clearSelection(false);
      this.addSelection(entry, row);
      this.anchor = { list, index };
    }
    this.tree.focus({ preventScroll: true });
    this.syncSelection();
  }

  private addSelection(entry: Entry, row: HTMLElement): void {
    this.selection.set(`${entry.type}:${entry.id}`, { entry, row });
    row.classList.add('sh-selected');
  }

  private clearSelection(sync = true): void {
    for (const { row } of this.selection.values()) row.classList.remove('sh-selected');
    this.selection.clear();
    if (sync) this.syncSelection();
  }

  private syncSelection(): void {
    const entries = [...this.selection.values()].map((s) => s.entry);
    this.model.set('selected', entries);
    this.model.save_changes();
    const images = entries.filter((e) => e.type === 'image');
    this.openButton.disabled = images.length === 0;
    this.footer.textContent = entries.length === 0 ? 'Nothing selected'
      : entries.length === 1 ? `${entries[0].type} ${entries[0].name}` : `${entries.length} selected`;
  }

  private onKey(event: KeyboardEvent): void {
    if (event.key === 'Enter') {
      event.preventDefault();
      this.openSelected();
    }
  }

  private openSelected(): void {
    const image = [...this.selection.values()].map((s) => s.entry).find((e) => e.type === 'image');
    if (image) this.open(image);
  }

  private nonce = 0;

  private open(entry: Entry): void {
    this.model.set('opened', { id: entry.id, name: entry.name, nonce: `${Date.now()}-${this.nonce++}` });
    this.model.save_changes();
  }

  destroy(): void {
    this.closed = true;
    this.thumbnails.disconnect();
    for (const cleanup of this.cleanups) cleanup();
    for (const url of this.objectUrls) URL.revokeObjectURL(url);
    this.transport?.close();
  }
}

function render({ model, el }: RenderProps): () => void {
  const root = h('div', { class: 'scopehub-widget scopehub-browser', 'data-lm-suppress-shortcuts': 'true' });
  root.addEventListener('keydown', (event) => event.stopPropagation());
  el.append(root);
  const session = new BrowserSession(model, root);
  void session.start();
  return () => session.destroy();
}

export default { render };
