import { describe, expect, it } from 'vitest';
import { dayRange, defaultState, incidentQuery, isDay, isWholeDay, normalizeInstant, parseState, shiftDay, stateToSearch } from '../src/state';

describe('URL state', () => {
  it('round-trips every field through the query string', () => {
    const s = {
      ...defaultState(),
      view: 'queue' as const,
      from: '2023-09-01T00:00:00Z',
      to: '2023-09-02T00:00:00Z',
      kinds: ['mortar', 'artillery'],
      parties: ['AZE'],
      statuses: ['reported', 'corroborated'],
      rules: ['heavy_weapons_in_withdrawal_zone'],
      color: 'status' as const,
      date: '2023-09-01',
      incident: 'inc-42',
    };
    const q = stateToSearch(s);
    expect(q).toBe(
      '?view=queue&from=2023-09-01T00:00:00Z&to=2023-09-02T00:00:00Z&kind=mortar,artillery&party=AZE&status=reported,corroborated&rule=heavy_weapons_in_withdrawal_zone&color=status&date=2023-09-01&inc=inc-42',
    );
    expect(parseState(q)).toEqual(s);
  });

  it('leaves defaults out so a plain map view is an empty query', () => {
    expect(stateToSearch(defaultState())).toBe('');
    expect(parseState('')).toEqual(defaultState());
  });

  it('drops values that do not parse instead of failing', () => {
    const s = parseState('?view=admin&from=yesterday&to=2023-13-01T00:00Z&color=rainbow&date=2023-02-30&kind=mortar,<script>,mortar&inc=a/b');
    expect(s.view).toBe('map');
    expect(s.from).toBeNull();
    expect(s.to).toBeNull();
    expect(s.color).toBe('kind');
    expect(s.date).toBeNull();
    expect(s.kinds).toEqual(['mortar']);
    expect(s.incident).toBeNull();
  });

  it('refuses an empty or reversed range by dropping its end', () => {
    const s = parseState('?from=2023-09-02T00:00:00Z&to=2023-09-01T00:00:00Z');
    expect(s.from).toBe('2023-09-02T00:00:00Z');
    expect(s.to).toBeNull();
  });

  it('normalises instants to whole seconds in UTC', () => {
    expect(normalizeInstant('2023-09-01T21:38Z')).toBe('2023-09-01T21:38:00Z');
    expect(normalizeInstant('2023-09-01T21:38:05.250Z')).toBe('2023-09-01T21:38:05.250Z');
    expect(normalizeInstant('2023-09-01 21:38Z')).toBeNull();
    expect(normalizeInstant('2023-09-01T21:38:00+04:00')).toBeNull();
  });
});

describe('filters as API queries', () => {
  it('passes lists comma-separated and the time range only when asked', () => {
    const s = { ...defaultState(), from: '2023-09-01T00:00:00Z', to: '2023-09-02T00:00:00Z', kinds: ['mortar', 'mlrs'], statuses: ['verified'] };
    expect(incidentQuery(s).toString()).toBe('from=2023-09-01T00%3A00%3A00Z&to=2023-09-02T00%3A00%3A00Z&kind=mortar%2Cmlrs&status=verified');
    expect(incidentQuery(s, false).toString()).toBe('kind=mortar%2Cmlrs&status=verified');
  });
});

describe('days', () => {
  it('gives the UTC day as a half-open range', () => {
    expect(dayRange('2023-09-30')).toEqual({ from: '2023-09-30T00:00:00Z', to: '2023-10-01T00:00:00Z' });
    expect(isWholeDay('2023-09-30T00:00:00Z', '2023-10-01T00:00:00Z')).toBe(true);
    expect(isWholeDay('2023-09-30T00:00:00Z', '2023-10-02T00:00:00Z')).toBe(false);
    expect(isWholeDay('2023-09-30T06:00:00Z', '2023-10-01T06:00:00Z')).toBe(false);
  });
  it('steps across month and leap-year ends', () => {
    expect(shiftDay('2024-02-28', 1)).toBe('2024-02-29');
    expect(shiftDay('2023-03-01', -1)).toBe('2023-02-28');
    expect(isDay('2024-02-29')).toBe(true);
    expect(isDay('2023-02-29')).toBe(false);
  });
});
