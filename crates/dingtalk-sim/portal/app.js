// Placeholder: the demo portal's code comes later. It reads /portal/config.json.
fetch('/portal/config.json')
  .then(function (r) { return r.json(); })
  .then(function (c) {
    document.getElementById('status').textContent =
      'Portal coming. Cloud: ' + (c.cloud_url || 'not set') + ', edge: ' + (c.edge_url || 'not set') + '.';
  })
  .catch(function () {});
