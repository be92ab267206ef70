// Toolbar and tree icons: small inline SVGs drawn in the text colour, so they follow the theme.

const PATHS: Record<string, string> = {
  pan: '<path d="M8 1v14M1 8h14M8 1 6 3M8 1l2 2M8 15l-2-2M8 15l2-2M1 8l2-2M1 8l2 2M15 8l-2-2M15 8l-2 2"/>',
  rectangle: '<rect x="2" y="3.5" width="12" height="9" rx="0.5"/>',
  ellipse: '<ellipse cx="8" cy="8" rx="6.5" ry="4.5"/>',
  point: '<circle cx="8" cy="8" r="2.5" fill="currentColor"/><circle cx="8" cy="8" r="5.5"/>',
  polygon: '<path d="M3 13 2 6l6-4 6 3-2 8z"/>',
  'zoom-in': '<circle cx="7" cy="7" r="4.5"/><path d="m10.5 10.5 4 4M5 7h4M7 5v4"/>',
  'zoom-out': '<circle cx="7" cy="7" r="4.5"/><path d="m10.5 10.5 4 4M5 7h4"/>',
  fit: '<path d="M2 6V2h4M10 2h4v4M14 10v4h-4M6 14H2v-4"/>',
  project: '<path d="M1.5 4.5v8h13v-8z"/><path d="M1.5 4.5 3 2.5h4l1.5 2"/>',
  dataset: '<rect x="2" y="2" width="5" height="5"/><rect x="9" y="2" width="5" height="5"/><rect x="2" y="9" width="5" height="5"/><rect x="9" y="9" width="5" height="5"/>',
  image: '<rect x="1.5" y="2.5" width="13" height="11" rx="1"/><path d="m2 12 4-4 3 3 2-2 3.5 3.5"/><circle cx="11" cy="6" r="1.2"/>',
  search: '<circle cx="7" cy="7" r="4.5"/><path d="m10.5 10.5 4 4"/>',
  open: '<path d="M6 3H3v10h10v-3M9 2h5v5M14 2 7 9"/>',
  refresh: '<path d="M13.5 8A5.5 5.5 0 1 1 11.5 3.8M13.5 1.5v3h-3"/>',
};

export function icon(name: string): string {
  return `<svg viewBox="0 0 16 16" width="16" height="16" fill="none" stroke="currentColor" stroke-width="1.4" ` +
    `stroke-linecap="round" stroke-linejoin="round" aria-hidden="true">${PATHS[name] ?? ''}</svg>`;
}
