import { describe, expect, it } from 'vitest';
import { colorOf, hashColor, incidentColor, KIND_COLORS, legend, STATUS_COLORS } from '../src/colors';
import { KINDS, STATUSES } from '../src/vocab';

describe('colour scales', () => {
  it('has a distinct fixed colour for every kind and every status', () => {
    for (const k of KINDS) expect(KIND_COLORS[k]).toMatch(/^#[0-9a-f]{6}$/);
    for (const s of STATUSES) expect(STATUS_COLORS[s]).toMatch(/^#[0-9a-f]{6}$/);
    expect(new Set(KINDS.map((k) => KIND_COLORS[k])).size).toBe(KINDS.length);
    expect(new Set(STATUSES.map((s) => STATUS_COLORS[s])).size).toBe(STATUSES.length);
  });

  it('colours an incident by the chosen attribute', () => {
    const inc = { kind: 'mortar', party: 'AZE', status: 'verified' };
    expect(incidentColor('kind', inc)).toBe(KIND_COLORS.mortar);
    expect(incidentColor('status', inc)).toBe(STATUS_COLORS.verified);
    expect(incidentColor('party', inc)).toBe(colorOf('party', 'AZE'));
  });

  it('gives an unknown value a stable colour from its name', () => {
    expect(colorOf('party', 'XYZ')).toBe(hashColor('XYZ'));
    expect(colorOf('party', 'XYZ')).toBe(colorOf('party', 'XYZ'));
    expect(colorOf('kind', undefined)).toBe(hashColor(''));
  });

  it('orders the legend with known values first, each once', () => {
    const l = legend('status', ['verified', 'zzz', 'reported', 'verified', 'aaa']);
    expect(l.map((x) => x.value)).toEqual(['reported', 'verified', 'aaa', 'zzz']);
  });
});
