// Drives the presets page: calls each preset's route as the vendor's browser snippet
// does, shows the answer (credentials shortened), and asks the demo for its verdict.
(function () {
  'use strict';

  /** First 10 characters and an ellipsis: enough to recognise a credential, not to use it. */
  function short(value) {
    return value.length > 10 ? value.slice(0, 10) + '\u2026' : value;
  }

  function json(res) {
    return res.json().catch(function () { return null; }).then(function (body) {
      return { status: res.status, ok: res.ok, body: body };
    });
  }

  function run(row) {
    var id = row.getAttribute('data-preset');
    var form = JSON.parse(row.getAttribute('data-form') || 'null');
    var credentialFields = JSON.parse(row.getAttribute('data-credential-fields') || '[]');
    var part = function (role) { return row.querySelector('[data-role="' + role + '"]'); };

    function show(status, body) {
      var http = part('http');
      http.textContent = String(status);
      http.className = 'http ' + (status >= 200 && status < 300 ? 'ok' : 'bad');
      var dl = part('fields');
      dl.textContent = '';
      var fields = body && typeof body === 'object' ? body : {};
      Object.keys(fields).forEach(function (name) {
        var value = fields[name];
        var dt = document.createElement('dt');
        dt.textContent = name;
        var dd = document.createElement('dd');
        if (credentialFields.indexOf(name) !== -1 && typeof value === 'string') {
          dd.className = 'credential';
          dd.setAttribute('data-field', name);
          dd.setAttribute('data-length', String(value.length));
          dd.textContent = short(value);
          var size = document.createElement('small');
          size.textContent = ' (' + value.length + ' characters)';
          dd.append(size);
        } else {
          dd.textContent = typeof value === 'string' ? value : JSON.stringify(value);
        }
        dl.append(dt, dd);
      });
    }

    function verdict(state, text) {
      row.setAttribute('data-state', state === 'verified' ? 'success' : 'error');
      part('verdict').setAttribute('data-verdict', state);
      part('verdict-text').textContent = (state === 'verified' ? 'Verified' : 'Failed') + ' \u2014 ' + text;
    }

    var init = { method: row.getAttribute('data-method'), credentials: 'same-origin', headers: { Accept: 'application/json' } };
    if (form) {
      init.headers['Content-Type'] = 'application/x-www-form-urlencoded';
      init.body = new URLSearchParams(form).toString();
    }
    return fetch(row.getAttribute('data-path'), init)
      .then(json)
      .then(function (r) {
        show(r.status, r.body);
        if (!r.ok) {
          var code = r.body && r.body.error ? r.body.error.code || r.body.error : 'no answer';
          return verdict('failed', 'the route answered ' + r.status + ' ' + code);
        }
        return fetch('/demo/verify/' + encodeURIComponent(id), {
          method: 'POST',
          credentials: 'same-origin',
          headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
          body: JSON.stringify({ answer: r.body, sent: form || {} }),
        })
          .then(json)
          .then(function (v) {
            if (v.ok && v.body && (v.body.verdict === 'verified' || v.body.verdict === 'failed')) verdict(v.body.verdict, v.body.reason);
            else verdict('failed', 'the verify endpoint answered ' + v.status);
          });
      })
      .catch(function () {
        verdict('failed', 'network error');
      });
  }

  document.querySelectorAll('[data-preset]').forEach(run);
})();
