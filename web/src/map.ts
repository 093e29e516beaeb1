// The map: the offline Natural Earth base map, the mission's zones, LoC and posts, and incidents
// drawn one by one (with their uncertainty) when there are few, clustered on screen when dense, or
// as the server's grid aggregation when the range holds more than the dashboard fetches singly.
import L from 'leaflet';
import 'leaflet/dist/leaflet.css';
import type { Incident, SummaryCell, ObservationDetail } from './api';
import { clusterByGrid, clusterRadius } from './cluster';
import { incidentColor } from './colors';
import { bearingLine, ellipseRing, sectorRing, type LatLon } from './geometry';
import type { ColorBy } from './vocab';

// Above this many marks in view, marks are clustered on a screen grid.
export const CLUSTER_ABOVE = 400;
const CLUSTER_PX = 36;

const ZONE_STYLE: Record<string, L.PathOptions> = {
  control: { color: '#555', weight: 1, fillOpacity: 0.06 },
  buffer: { color: '#b8860b', weight: 1, dashArray: '4 3', fillColor: '#f1c40f', fillOpacity: 0.15 },
  corridor: { color: '#16a085', weight: 1, fillColor: '#1abc9c', fillOpacity: 0.15 },
  withdrawal: { color: '#8e44ad', weight: 1, dashArray: '2 4', fillOpacity: 0.05 },
};

export interface MapCallbacks {
  onSelect(id: string): void;
  onZoom(): void;
}

export class IncidentMap {
  readonly map: L.Map;
  private readonly base = L.layerGroup();
  private tiles: L.TileLayer | null = null;
  private readonly zones = L.layerGroup();
  private readonly loc = L.layerGroup();
  private readonly posts = L.layerGroup();
  private readonly places = L.layerGroup();
  private readonly ellipses = L.layerGroup();
  private readonly marks = L.layerGroup();
  private readonly bearings = L.layerGroup();
  private incidents: Incident[] = [];
  private colorBy: ColorBy = 'kind';
  private selected: string | null = null;
  private fitted = false;
  readonly postPositions = new Map<string, LatLon>();

  constructor(
    private readonly el: HTMLElement,
    private readonly cb: MapCallbacks,
  ) {
    this.map = L.map(el, { preferCanvas: false, zoomControl: true, attributionControl: true, worldCopyJump: false });
    this.map.attributionControl.setPrefix(false);
    this.map.setView([40.0, 46.6], 8);
    // Fixed stacking, whatever order the layers arrive in: the base map under the zones and the
    // line of contact (overlay pane, 400), the incident marks above them, so a zone drawn after
    // the marks never covers them and a click on a mark reaches it.
    this.map.createPane('base').style.zIndex = '250';
    this.map.createPane('marks').style.zIndex = '450';
    for (const g of [this.base, this.zones, this.loc, this.places, this.ellipses, this.posts, this.bearings, this.marks]) g.addTo(this.map);
    L.control
      .layers(undefined, { Zones: this.zones, 'Line of contact': this.loc, Posts: this.posts, Places: this.places, 'Uncertainty ellipses': this.ellipses }, { collapsed: true })
      .addTo(this.map);
    L.control.scale({ imperial: false }).addTo(this.map);
    this.map.on('zoomend', () => {
      this.drawMarks();
      this.cb.onZoom();
    });
  }

  // The offline base map (files served with the dashboard) and, when set, a tile layer over it.
  async loadBase(tileUrl: string): Promise<void> {
    const get = async (f: string) => (await fetch(new URL('basemap/' + f, document.baseURI))).json() as Promise<GeoJSON.FeatureCollection>;
    try {
      const [countries, boundaries, places] = await Promise.all([get('countries.geojson'), get('boundaries.geojson'), get('places.geojson')]);
      this.base.clearLayers();
      L.geoJSON(countries, { pane: 'base', style: { color: '#9aa5b1', weight: 1, fillColor: '#f4f1ea', fillOpacity: 1 }, interactive: false }).addTo(this.base);
      L.geoJSON(boundaries, { pane: 'base', style: { color: '#7b8794', weight: 1.2, dashArray: '6 3' }, interactive: false }).addTo(this.base);
      L.geoJSON<{ name: string }>(places, {
        pointToLayer: (f, ll) =>
          L.circleMarker(ll, { pane: 'base', radius: 2, color: '#52606d', weight: 1, fillOpacity: 1, interactive: false }).bindTooltip(String(f.properties.name), {
            permanent: true,
            direction: 'right',
            className: 'ne-place',
            offset: [3, 0],
          }),
      }).addTo(this.base);
      this.map.attributionControl.addAttribution('Base map: Natural Earth (public domain)');
    } catch {
      /* the base map is decoration: the mission layers still draw */
    }
    this.setTiles(tileUrl);
  }

  setTiles(url: string): void {
    if (this.tiles) this.tiles.remove();
    this.tiles = null;
    if (url) this.tiles = L.tileLayer(url, { maxZoom: 18, attribution: 'tiles: ' + new URL(url.replace(/[{}]/g, ''), location.href).host }).addTo(this.map).bringToBack();
  }

  setZones(fc: GeoJSON.FeatureCollection | null): void {
    this.zones.clearLayers();
    if (!fc) return;
    L.geoJSON<GeoJSON.GeoJsonProperties>(fc, {
      style: (f) => ZONE_STYLE[String(f?.properties?.kind)] ?? { color: '#555', weight: 1, fillOpacity: 0.05 },
      onEachFeature: (f, layer) => layer.bindTooltip(`${f.properties?.kind ?? 'zone'} ${f.properties?.party ?? ''} ${f.properties?.id ?? f.properties?.name ?? ''}`.trim()),
    }).addTo(this.zones);
  }

  setLoc(fc: GeoJSON.FeatureCollection | null): void {
    this.loc.clearLayers();
    if (!fc) return;
    const layer = L.geoJSON(fc, { style: { color: '#c0392b', weight: 2.5, className: 'loc-line' }, interactive: false }).addTo(this.loc);
    if (!this.fitted) {
      const b = layer.getBounds();
      if (b.isValid()) {
        this.map.fitBounds(b.pad(0.15));
        this.fitted = true;
      }
    }
  }

  setPosts(fc: GeoJSON.FeatureCollection | null): void {
    this.posts.clearLayers();
    this.postPositions.clear();
    if (!fc) return;
    for (const f of fc.features) {
      if (!f.geometry || f.geometry.type !== 'Point') continue;
      const [lon, lat] = f.geometry.coordinates;
      const id = String(f.properties?.id ?? '');
      this.postPositions.set(id, [lat, lon]);
      L.marker([lat, lon], {
        icon: L.divIcon({ className: 'post-mark', html: '▲', iconSize: [12, 12] }),
        keyboard: false,
        title: `${id} (${f.properties?.type ?? 'post'}, ${f.properties?.party ?? ''})`,
      }).addTo(this.posts);
    }
  }

  setMissionPlaces(fc: GeoJSON.FeatureCollection | null): void {
    this.places.clearLayers();
    if (!fc) return;
    L.geoJSON<GeoJSON.GeoJsonProperties>(fc, {
      pointToLayer: (f, ll) => L.circleMarker(ll, { radius: 2.5, color: '#333', weight: 1, fillOpacity: 0.8 }).bindTooltip(String(f.properties?.name ?? '')),
    }).addTo(this.places);
  }

  // Single incidents: marks (clustered when dense) and, for the located ones, ellipses.
  setIncidents(items: Incident[], colorBy: ColorBy, selected: string | null): void {
    this.incidents = items;
    this.colorBy = colorBy;
    this.selected = selected;
    this.drawEllipses();
    this.drawMarks();
  }

  // The server's aggregation: one disc per grid cell with its count.
  setCells(cells: SummaryCell[], colorBy: ColorBy): void {
    this.incidents = [];
    this.ellipses.clearLayers();
    this.marks.clearLayers();
    for (const c of cells) {
      const r = clusterRadius(c.n);
      L.marker([c.lat, c.lon], {
        icon: L.divIcon({
          className: 'incident-cell',
          html: `<span style="background:${incidentColor(colorBy, c)};width:${2 * r}px;height:${2 * r}px;line-height:${2 * r}px" data-n="${c.n}">${c.n}</span>`,
          iconSize: [2 * r, 2 * r],
        }),
        keyboard: false,
      })
        .on('click', () => this.map.setView([c.lat, c.lon], Math.min(this.map.getZoom() + 2, 16)))
        .addTo(this.marks);
    }
  }

  // How many incidents each drawn mark stands for, summed: what the map shows.
  shownCount(): number {
    let n = 0;
    this.el.querySelectorAll('.incident-mark').forEach(() => n++);
    this.el.querySelectorAll<HTMLElement>('.incident-cluster [data-n], .incident-cell [data-n]').forEach((e) => (n += Number(e.dataset.n)));
    return n;
  }

  private drawEllipses(): void {
    this.ellipses.clearLayers();
    if (this.incidents.length > 1500) return; // too many to be legible; the marks carry the colour
    for (const inc of this.incidents) {
      if (inc.lat == null || inc.lon == null || !inc.ellipse) continue;
      const e = inc.ellipse;
      L.polygon(ellipseRing(inc.lat, inc.lon, e.semi_major_m, e.semi_minor_m, e.major_azimuth_deg), {
        color: incidentColor(this.colorBy, inc),
        weight: 1,
        fillOpacity: 0.08,
        interactive: false,
        className: 'incident-ellipse',
      }).addTo(this.ellipses);
    }
  }

  private drawMarks(): void {
    if (!this.incidents.length) return;
    this.marks.clearLayers();
    const drawable = this.incidents.filter((i) => (i.lat != null && i.lon != null) || i.sector);
    const single = (inc: Incident) => this.addMark(inc);
    if (drawable.length <= CLUSTER_ABOVE) {
      drawable.forEach(single);
      return;
    }
    const pts = drawable.map((inc) => {
      const ll: LatLon = inc.lat != null && inc.lon != null ? [inc.lat, inc.lon] : [inc.sector!.apex_lat, inc.sector!.apex_lon];
      const p = this.map.latLngToLayerPoint(ll);
      return { x: p.x, y: p.y, item: inc };
    });
    for (const c of clusterByGrid(pts, CLUSTER_PX)) {
      if (c.items.length === 1) {
        single(c.items[0]);
        continue;
      }
      const ll = this.map.layerPointToLatLng([c.x, c.y]);
      const r = clusterRadius(c.items.length);
      const counts = new Map<string, number>();
      for (const i of c.items) {
        const k = this.colorBy === 'kind' ? i.kind : this.colorBy === 'party' ? i.party : i.status;
        counts.set(k, (counts.get(k) ?? 0) + 1);
      }
      const top = [...counts.entries()].sort((a, b) => b[1] - a[1])[0][0];
      const color = incidentColor(this.colorBy, { kind: top, party: top, status: top });
      L.marker(ll, {
        icon: L.divIcon({
          className: 'incident-cluster',
          html: `<span style="background:${color};width:${2 * r}px;height:${2 * r}px;line-height:${2 * r}px" data-n="${c.items.length}">${c.items.length}</span>`,
          iconSize: [2 * r, 2 * r],
        }),
        keyboard: false,
      })
        .on('click', () => this.map.setView(ll, Math.min(this.map.getZoom() + 2, 17)))
        .addTo(this.marks);
    }
  }

  private addMark(inc: Incident): void {
    const color = incidentColor(this.colorBy, inc);
    const sel = inc.id === this.selected;
    const tip = `${inc.kind} · ${inc.status} · ${inc.start.slice(0, 16).replace('T', ' ')}Z${inc.party ? ' · origin ' + inc.party : ''}`;
    let layer: L.Path;
    if (inc.lat != null && inc.lon != null) {
      layer = L.circleMarker([inc.lat, inc.lon], {
        pane: 'marks',
        radius: sel ? 8 : 5,
        color: sel ? '#000' : '#fff',
        weight: sel ? 3 : 1,
        fillColor: color,
        fillOpacity: 0.95,
        className: 'incident-mark',
      });
    } else {
      const s = inc.sector!;
      layer = L.polygon(sectorRing(s.apex_lat, s.apex_lon, s.azimuth_deg, s.half_width_deg, 4000), {
        pane: 'marks',
        color,
        weight: sel ? 3 : 1,
        fillOpacity: 0.12,
        dashArray: '3 3',
        className: 'incident-mark incident-sector',
      });
    }
    layer.bindTooltip(tip).on('click', () => this.cb.onSelect(inc.id)).addTo(this.marks);
    const el = (layer as unknown as { getElement?: () => Element | undefined }).getElement?.();
    if (el) el.setAttribute('data-id', inc.id);
  }

  // The bearings of an incident's observations, drawn from their observers; `pan`: to the origin.
  showBearings(inc: Incident | null, obs: ObservationDetail[], pan = true): void {
    this.bearings.clearLayers();
    if (!inc) return;
    const origin: LatLon | null = inc.lat != null && inc.lon != null ? [inc.lat, inc.lon] : null;
    for (const o of obs) {
      const pos = o.observer_lat != null ? null : this.postPositions.get(o.observer_id);
      const line = bearingLine(pos ? { ...o, observer_lat: pos[0], observer_lon: pos[1] } : o, origin);
      if (!line) continue;
      L.polyline(line, { color: '#111', weight: 1.5, dashArray: '6 4', className: 'bearing-line' })
        .bindTooltip(`${o.observer_id}: ${o.bearing_deg}°${o.bearing_sigma_deg != null ? ' ±' + o.bearing_sigma_deg : ''}${o.distance_m != null ? ', ' + o.distance_m + ' m' : ''}`)
        .addTo(this.bearings);
      L.circleMarker(line[0], { radius: 4, color: '#111', weight: 2, fillColor: '#fff', fillOpacity: 1, className: 'bearing-observer' }).addTo(this.bearings);
    }
    if (origin && pan) this.map.panTo(origin);
  }

  invalidate(): void {
    this.map.invalidateSize();
  }
}
