import { describe, expect, it } from 'vitest';
import { bearing, bearingLine, destination, distance, ellipseRing, sectorRing } from '../src/geometry';

describe('geodesy on the sphere', () => {
  it('walks 10 km due east and back', () => {
    const p = destination(39.8, 46.8, 90, 10000);
    expect(distance([39.8, 46.8], p)).toBeCloseTo(10000, 3);
    expect(bearing([39.8, 46.8], p)).toBeCloseTo(90, 1);
    expect(p[0]).toBeCloseTo(39.8, 3);
  });
  it('one degree of latitude is about 111.2 km', () => {
    expect(distance([39, 46], [40, 46])).toBeCloseTo(111195, -1);
  });
});

describe('uncertainty ellipse', () => {
  const [lat, lon] = [39.8, 46.8];
  it('puts the major axis along its azimuth and the minor across it', () => {
    const ring = ellipseRing(lat, lon, 1000, 300, 30, 4); // t = 0, 90, 180, 270 degrees
    expect(distance([lat, lon], ring[0])).toBeCloseTo(1000, -1);
    expect(bearing([lat, lon], ring[0])).toBeCloseTo(30, 0);
    expect(distance([lat, lon], ring[1])).toBeCloseTo(300, -1);
    expect(bearing([lat, lon], ring[1])).toBeCloseTo(120, 0);
    expect(bearing([lat, lon], ring[2])).toBeCloseTo(210, 0);
  });
  it('is a circle when both axes are equal', () => {
    for (const p of ellipseRing(lat, lon, 500, 500, 77, 24)) expect(distance([lat, lon], p)).toBeCloseTo(500, -1);
  });
  it('has the area of an ellipse (pi a b) within 1%', () => {
    const ring = ellipseRing(lat, lon, 2000, 800, 45, 96);
    const mLat = 111195, mLon = 111195 * Math.cos((lat * Math.PI) / 180);
    let a = 0;
    for (let i = 0; i < ring.length; i++) {
      const [y1, x1] = ring[i], [y2, x2] = ring[(i + 1) % ring.length];
      a += (x1 * mLon) * (y2 * mLat) - (x2 * mLon) * (y1 * mLat);
    }
    expect(Math.abs(a / 2) / (Math.PI * 2000 * 800)).toBeGreaterThan(0.99);
    expect(Math.abs(a / 2) / (Math.PI * 2000 * 800)).toBeLessThan(1.01);
  });
});

describe('bearings and sectors', () => {
  const obs = { observer_lat: 39.9, observer_lon: 46.8, bearing_deg: 45, distance_m: 3000 };
  it('draws a bearing to its distance estimate', () => {
    const line = bearingLine(obs, null)!;
    expect(line[0]).toEqual([39.9, 46.8]);
    expect(distance(line[0], line[1])).toBeCloseTo(3000, 0);
    expect(bearing(line[0], line[1])).toBeCloseTo(45, 1);
  });
  it('without a distance, reaches a little past the origin', () => {
    const origin = destination(39.9, 46.8, 45, 2000);
    const line = bearingLine({ ...obs, distance_m: null }, origin)!;
    expect(distance(line[0], line[1])).toBeCloseTo(2400, 0);
  });
  it('draws nothing without an observer position or a bearing', () => {
    expect(bearingLine({ ...obs, observer_lat: null }, null)).toBeNull();
    expect(bearingLine({ ...obs, bearing_deg: null }, null)).toBeNull();
  });
  it('opens a sector from the apex across its width', () => {
    const ring = sectorRing(39.9, 46.8, 90, 10, 4000, 4);
    expect(ring[0]).toEqual([39.9, 46.8]);
    expect(bearing(ring[0], ring[1])).toBeCloseTo(80, 1);
    expect(bearing(ring[0], ring[ring.length - 1])).toBeCloseTo(100, 1);
    for (const p of ring.slice(1)) expect(distance(ring[0], p)).toBeCloseTo(4000, 0);
  });
});
