// Colour scales for incidents: by kind, by party, by verification status. Colours are fixed for the
// known values so a legend reads the same on every map; an unknown value gets a stable colour from
// its name.
import type { ColorBy } from './vocab';

export const KIND_COLORS: Record<string, string> = {
  explosion: '#e6550d',
  small_arms: '#3182bd',
  heavy_mg: '#6baed6',
  mortar: '#d62728',
  artillery: '#8c2d04',
  mlrs: '#7b1fa2',
  drone: '#2ca02c',
  movement: '#17becf',
  other: '#7f7f7f',
};

export const STATUS_COLORS: Record<string, string> = {
  reported: '#9e9e9e',
  corroborated: '#f39c12',
  verified: '#c0392b',
  rejected: '#5d6d7e',
  disputed: '#8e44ad',
};

// Parties of the demo mission and the mission itself; others are hashed.
export const PARTY_COLORS: Record<string, string> = {
  AZE: '#1f77b4',
  ARM: '#ff7f0e',
  MON: '#2ca02c',
  A: '#1f77b4',
  B: '#ff7f0e',
  '': '#7f7f7f',
};

const FALLBACK = ['#1b9e77', '#d95f02', '#7570b3', '#e7298a', '#66a61e', '#e6ab02', '#a6761d', '#666666'];

export function hashColor(name: string): string {
  let h = 2166136261;
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 16777619) >>> 0;
  }
  return FALLBACK[h % FALLBACK.length];
}

export function colorOf(by: ColorBy, value: string | undefined | null): string {
  const v = value ?? '';
  const table = by === 'kind' ? KIND_COLORS : by === 'status' ? STATUS_COLORS : PARTY_COLORS;
  return table[v] ?? hashColor(v);
}

export interface Colorable {
  kind?: string;
  party?: string;
  status?: string;
}

export function incidentColor(by: ColorBy, inc: Colorable): string {
  return colorOf(by, by === 'kind' ? inc.kind : by === 'party' ? inc.party : inc.status);
}

// The legend: each value present, in a stable order (known values first).
export function legend(by: ColorBy, present: Iterable<string>): { value: string; color: string }[] {
  const known = Object.keys(by === 'kind' ? KIND_COLORS : by === 'status' ? STATUS_COLORS : PARTY_COLORS);
  const vals = [...new Set(present)];
  vals.sort((a, b) => {
    const ia = known.indexOf(a), ib = known.indexOf(b);
    if (ia >= 0 && ib >= 0) return ia - ib;
    if (ia >= 0) return -1;
    if (ib >= 0) return 1;
    return a.localeCompare(b);
  });
  return vals.map((value) => ({ value, color: colorOf(by, value) }));
}
