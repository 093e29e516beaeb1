// Geometry for drawing on a web map: uncertainty ellipses, bearing lines and sectors, as rings of
// [lat, lon]. Spherical Earth (mean radius): at the scale of a few km the difference to the
// ellipsoid is far below what the map can show.

export const EARTH_RADIUS_M = 6371008.8;
const RAD = Math.PI / 180;

export type LatLon = [number, number];

// The point `distM` metres from (lat, lon) along the initial bearing `bearingDeg` (clockwise from north).
export function destination(lat: number, lon: number, bearingDeg: number, distM: number): LatLon {
  const d = distM / EARTH_RADIUS_M;
  const b = bearingDeg * RAD;
  const p1 = lat * RAD;
  const l1 = lon * RAD;
  const p2 = Math.asin(Math.sin(p1) * Math.cos(d) + Math.cos(p1) * Math.sin(d) * Math.cos(b));
  const l2 = l1 + Math.atan2(Math.sin(b) * Math.sin(d) * Math.cos(p1), Math.cos(d) - Math.sin(p1) * Math.sin(p2));
  return [p2 / RAD, ((l2 / RAD + 540) % 360) - 180];
}

// Great-circle distance in metres.
export function distance(a: LatLon, b: LatLon): number {
  const dp = (b[0] - a[0]) * RAD;
  const dl = (b[1] - a[1]) * RAD;
  const h = Math.sin(dp / 2) ** 2 + Math.cos(a[0] * RAD) * Math.cos(b[0] * RAD) * Math.sin(dl / 2) ** 2;
  return 2 * EARTH_RADIUS_M * Math.asin(Math.min(1, Math.sqrt(h)));
}

// Initial bearing from a to b, degrees in [0, 360).
export function bearing(a: LatLon, b: LatLon): number {
  const p1 = a[0] * RAD, p2 = b[0] * RAD, dl = (b[1] - a[1]) * RAD;
  const y = Math.sin(dl) * Math.cos(p2);
  const x = Math.cos(p1) * Math.sin(p2) - Math.sin(p1) * Math.cos(p2) * Math.cos(dl);
  return ((Math.atan2(y, x) / RAD) + 360) % 360;
}

// The ellipse with semi-axes a (along `azimuthDeg`, clockwise from north) and b around the centre,
// as n points (a closed ring when drawn as a polygon). Local tangent plane: fine below ~50 km.
export function ellipseRing(lat: number, lon: number, semiMajorM: number, semiMinorM: number, azimuthDeg: number, n = 48): LatLon[] {
  const az = azimuthDeg * RAD;
  const mPerDegLat = EARTH_RADIUS_M * RAD;
  const mPerDegLon = mPerDegLat * Math.cos(lat * RAD);
  const ring: LatLon[] = [];
  for (let i = 0; i < n; i++) {
    const t = (2 * Math.PI * i) / n;
    const u = semiMajorM * Math.cos(t); // along the major axis
    const v = semiMinorM * Math.sin(t); // along the minor axis (azimuth + 90)
    const north = u * Math.cos(az) - v * Math.sin(az);
    const east = u * Math.sin(az) + v * Math.cos(az);
    ring.push([lat + north / mPerDegLat, lon + east / mPerDegLon]);
  }
  return ring;
}

// A sector (wedge) from an apex: what a lone bearing without distance says about an origin.
export function sectorRing(lat: number, lon: number, azimuthDeg: number, halfWidthDeg: number, radiusM: number, steps = 16): LatLon[] {
  const ring: LatLon[] = [[lat, lon]];
  for (let i = 0; i <= steps; i++) {
    const b = azimuthDeg - halfWidthDeg + (2 * halfWidthDeg * i) / steps;
    ring.push(destination(lat, lon, b, radiusM));
  }
  return ring;
}

export interface BearingObs {
  observer_lat: number | null;
  observer_lon: number | null;
  bearing_deg: number | null;
  distance_m: number | null;
}

// The line an observer's bearing draws: to its distance estimate when it has one, else as far as
// the incident's origin (plus a fifth) when known, else `fallbackM`. Null without a position or bearing.
export function bearingLine(o: BearingObs, origin: LatLon | null, fallbackM = 5000): LatLon[] | null {
  if (o.observer_lat == null || o.observer_lon == null || o.bearing_deg == null) return null;
  const from: LatLon = [o.observer_lat, o.observer_lon];
  const len = o.distance_m != null && o.distance_m > 0 ? o.distance_m : origin ? distance(from, origin) * 1.2 : fallbackM;
  return [from, destination(from[0], from[1], o.bearing_deg, Math.max(len, 50))];
}
