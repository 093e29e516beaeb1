// A tiny DOM builder: text always goes in as text (never as HTML), so what the API returns
// (notes, names) cannot inject markup.
type Child = Node | string | number | null | undefined | false;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | number | boolean | undefined | null> = {},
  ...children: (Child | Child[])[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = String(v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

export function $(sel: string, root: ParentNode = document): HTMLElement {
  const e = root.querySelector<HTMLElement>(sel);
  if (!e) throw new Error('missing element ' + sel);
  return e;
}

export function fmtTime(iso: string | undefined | null): string {
  return iso ? iso.slice(0, 16).replace('T', ' ') : '—';
}

export function fmtNum(n: number | undefined | null, digits = 0): string {
  return n == null ? '—' : n.toLocaleString('en-GB', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}
