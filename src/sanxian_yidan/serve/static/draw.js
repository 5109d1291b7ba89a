// Drawing on the offline map of the new-screening page: point, line or polygon, clicked vertex by vertex.
// No tiles and no network: the ground is the county and township outlines served by /api/basemap.geojson.
(function () {
  'use strict';
  var el = document.getElementById('draw-map');
  if (!el || typeof L === 'undefined') { return; }
  var map = L.map(el, { doubleClickZoom: false }).setView([31.75, 113.35], 9);
  var status = document.getElementById('draw-status');
  var output = document.getElementById('draw-geojson');
  var kind = null, vertices = [], shapes = [], preview = null, drawn = L.featureGroup().addTo(map);

  fetch('/api/basemap.geojson', { credentials: 'same-origin' }).then(function (r) { return r.json(); })
    .then(function (data) {
      var layer = L.geoJSON(data, {
        style: function (f) {
          return f.properties.role === 'admin_boundary' ? { color: '#555', weight: 2, fill: false }
                                                          : { color: '#999', weight: 1, dashArray: '4 3', fill: false };
        },
        onEachFeature: function (f, l) { if (f.properties.name) { l.bindTooltip(String(f.properties.name)); } }
      }).addTo(map);
      if (layer.getBounds().isValid()) { map.fitBounds(layer.getBounds()); }
    }).catch(function () { status.textContent = '底图未能加载 / outlines could not be loaded'; });

  function lonlat(ll) { return [Math.round(ll.lng * 1e7) / 1e7, Math.round(ll.lat * 1e7) / 1e7]; }

  function save() {
    var features = shapes.map(function (s, i) {
      return { type: 'Feature', properties: { id: 'D' + (i + 1) }, geometry: s };
    });
    output.value = features.length ? JSON.stringify({ type: 'FeatureCollection', features: features }) : '';
    status.textContent = features.length + ' 个图形 / shape(s)';
  }

  function redrawPreview() {
    if (preview) { drawn.removeLayer(preview); preview = null; }
    if (!vertices.length) { return; }
    preview = (kind === 'Polygon' && vertices.length > 2) ? L.polygon(vertices, { color: '#0072b2' })
                                                           : L.polyline(vertices, { color: '#0072b2', dashArray: '5 4' });
    drawn.addLayer(preview);
  }

  function finish() {
    if (!kind) { return; }
    var need = kind === 'Polygon' ? 3 : 2;
    if (kind !== 'Point' && vertices.length >= need) {
      var coords = vertices.map(lonlat);
      if (kind === 'Polygon') { coords.push(coords[0]); }
      shapes.push({ type: kind, coordinates: kind === 'Polygon' ? [coords] : coords });
      drawn.addLayer(kind === 'Polygon' ? L.polygon(vertices, { color: '#0072b2' }) : L.polyline(vertices, { color: '#0072b2' }));
    }
    vertices = []; redrawPreview(); save();
  }

  map.on('click', function (e) {
    if (!kind) { status.textContent = '请先选择 点/线/面 / pick point, line or polygon first'; return; }
    if (kind === 'Point') {
      shapes.push({ type: 'Point', coordinates: lonlat(e.latlng) });
      drawn.addLayer(L.circleMarker(e.latlng, { radius: 6, color: '#0072b2' }));
      save(); return;
    }
    vertices.push(e.latlng); redrawPreview();
  });
  map.on('dblclick', finish);

  document.getElementById('draw-tools').addEventListener('click', function (e) {
    var b = e.target.closest('button');
    if (!b) { return; }
    if (b.dataset.draw) {
      finish(); kind = b.dataset.draw;
      Array.prototype.forEach.call(this.querySelectorAll('[data-draw]'), function (x) { x.classList.toggle('active', x === b); });
    } else if (b.dataset.action === 'finish') { finish(); }
    else if (b.dataset.action === 'clear') { vertices = []; shapes = []; drawn.clearLayers(); preview = null; save(); }
  });
  document.getElementById('draw-form').addEventListener('submit', function () { finish(); });
}());
