// Drives the demo page: asks each router for the signed-in user's credential, shows it
// (tokens shortened), and asks the sandbox for its verdict.
(function () {
  'use strict';

  var TOKEN_KEYS = ['token', 'jwt', 'sessionToken', 'apiKeyHash', 'embed_url'];
  var STATE_TEXT = { pending: 'Pending', success: 'Verified', error: 'Error' };

  function short(value) {
    return typeof value === 'string' && value.length > 12 ? value.slice(0, 12) + '\u2026' : value;
  }

  function shortenTokens(body) {
    if (!body || typeof body !== 'object') return body;
    var out = Array.isArray(body) ? [] : {};
    Object.keys(body).forEach(function (key) {
      var value = body[key];
      if (TOKEN_KEYS.indexOf(key) !== -1) out[key] = short(value);
      else if (value && typeof value === 'object') out[key] = shortenTokens(value);
      else out[key] = value;
    });
    return out;
  }

  function decodeJwt(token) {
    var part = String(token).split('.')[1] || '';
    var base64 = part.replace(/-/g, '+').replace(/_/g, '/');
    while (base64.length % 4) base64 += '=';
    var bytes = Uint8Array.from(atob(base64), function (c) { return c.charCodeAt(0); });
    return JSON.parse(new TextDecoder().decode(bytes));
  }

  function Card(vendor) {
    this.el = document.getElementById('card-' + vendor);
    this.mode = this.el ? this.el.getAttribute('data-mode') : 'sandbox';
  }
  Card.prototype.part = function (role) {
    return this.el.querySelector('[data-role="' + role + '"]');
  };
  Card.prototype.state = function (state, text) {
    this.el.setAttribute('data-state', state);
    this.part('state').textContent = text || STATE_TEXT[state];
  };
  Card.prototype.http = function (status, ms) {
    var el = this.part('http');
    if (!el) return;
    el.textContent = status + (ms !== undefined ? ' \u00b7 ' + Math.round(ms) + ' ms' : '');
    el.className = 'http ' + (status >= 200 && status < 300 ? 'ok' : 'bad');
  };
  Card.prototype.response = function (body) {
    var el = this.part('response');
    if (el) el.textContent = JSON.stringify(shortenTokens(body), null, 2);
  };
  Card.prototype.facts = function (role, facts) {
    var dl = this.part(role);
    dl.textContent = '';
    Object.keys(facts).forEach(function (name) {
      var dt = document.createElement('dt');
      dt.textContent = name;
      var dd = document.createElement('dd');
      var value = facts[name];
      if (value && typeof value === 'object') {
        dd.textContent = Object.keys(value).map(function (key) { return key + ': ' + value[key]; }).join('\n');
        dd.className = 'lines';
      } else if (typeof value === 'number' && /^(iat|exp|nbf)$/.test(name)) {
        dd.textContent = value + '  (' + new Date(value * 1000).toLocaleTimeString() + ')';
      } else {
        dd.textContent = String(value);
      }
      dl.append(dt, dd);
    });
    var step = dl.closest('.step');
    if (step) step.hidden = false;
  };
  Card.prototype.expires = function (epochMs) {
    var el = this.part('expiry');
    if (el) el.setAttribute('data-expires', String(epochMs));
    tick();
  };
  Card.prototype.verdict = function (state, text) {
    var el = this.part('verdict');
    el.setAttribute('data-verdict', state);
    this.part('verdict-text').textContent = text;
  };
  Card.prototype.fail = function (where, status, body) {
    var code = body && body.error ? (typeof body.error === 'string' ? body.error : body.error.code) : 'NETWORK';
    this.state('error', status === 401 ? 'Signed out' : 'Error');
    this.verdict('refused', where + ' failed: ' + (status ? status + ' ' : '') + code);
  };
  Card.prototype.judge = function (answer) {
    if (answer && answer.verdict === 'verified') {
      this.state('success');
      this.verdict('verified', 'Sandbox verdict: verified \u2014 ' + answer.detail);
    } else if (answer && answer.verdict === 'live') {
      this.state('success', 'Issued');
      this.verdict('verified', 'Live vendor: the credential was issued; the vendor checks it when the widget uses it.');
    } else if (answer && answer.verdict === 'pending') {
      this.verdict('pending', 'Waiting for the sandbox\u2026');
    } else {
      this.state('error', 'Refused');
      this.verdict('refused', 'Sandbox verdict: refused \u2014 ' + ((answer && answer.reason) || 'unknown reason'));
    }
  };

  function call(method, path, body) {
    var started = performance.now();
    var init = { method: method, credentials: 'same-origin', headers: { Accept: 'application/json' } };
    if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    return fetch(path, init).then(function (res) {
      return res.json().catch(function () { return null; }).then(function (json) {
        return { status: res.status, ok: res.ok, body: json, ms: performance.now() - started };
      });
    }, function () {
      return { status: 0, ok: false, body: null, ms: performance.now() - started };
    });
  }

  function verify(vendor, body) {
    return call('POST', '/demo/verify/' + vendor, body).then(function (r) {
      return r.ok ? r.body : { verdict: 'refused', reason: 'verdict endpoint answered ' + r.status };
    });
  }

  // expiry countdowns
  function format(ms) {
    if (ms <= 0) return 'expired';
    var s = Math.floor(ms / 1000);
    var h = Math.floor(s / 3600);
    var m = Math.floor((s % 3600) / 60);
    var sec = s % 60;
    var two = function (n) { return (n < 10 ? '0' : '') + n; };
    return (h > 0 ? h + ':' + two(m) : m) + ':' + two(sec);
  }
  function tick() {
    var now = Date.now();
    document.querySelectorAll('[data-expires]').forEach(function (el) {
      var left = Number(el.getAttribute('data-expires')) - now;
      el.textContent = format(left);
      el.classList.toggle('soon', left < 60000);
    });
  }
  setInterval(tick, 1000);

  function nevermined() {
    var card = new Card('nevermined');
    return call('POST', '/api/widget-session').then(function (r) {
      card.http(r.status, r.ms);
      card.response(r.body);
      if (!r.ok) return card.fail('Session', r.status, r.body);
      var s = r.body;
      card.facts('session', { userId: s.userId, userWallet: short(s.userWallet), sessionToken: short(s.sessionToken), expiresAt: s.expiresAt });
      card.expires(Date.parse(s.expiresAt));
      return verify('nevermined', { sessionToken: s.sessionToken }).then(card.judge.bind(card));
    });
  }

  function jwtCard(card, token, verdictBody, vendor) {
    var claims = decodeJwt(token);
    card.facts('claims', claims);
    if (typeof claims.exp === 'number') card.expires(claims.exp * 1000);
    return verify(vendor, verdictBody).then(card.judge.bind(card));
  }

  function hissuno() {
    var card = new Card('hissuno');
    return call('POST', '/api/hissuno-token').then(function (r) {
      card.http(r.status, r.ms);
      card.response(r.body);
      if (!r.ok) return card.fail('Token', r.status, r.body);
      return jwtCard(card, r.body.token, { token: r.body.token }, 'hissuno');
    });
  }

  function wonderful() {
    var card = new Card('wonderful');
    var button = card.part('refresh');
    var refreshes = 0;
    var entityId = null;
    function show(r) {
      card.http(r.status, r.ms);
      card.response(r.body);
      if (!r.ok) return card.fail('Token', r.status, r.body);
      entityId = r.body.id;
      button.disabled = false;
      return jwtCard(card, r.body.token, { token: r.body.token }, 'wonderful');
    }
    button.addEventListener('click', function () {
      if (!entityId) return;
      button.disabled = true;
      card.state('pending');
      card.verdict('pending', 'Refreshing\u2026');
      var call_ = card.part('call');
      call_.querySelector('code').textContent = '/api/refresh-sdk-token';
      call('POST', '/api/refresh-sdk-token', { entityId: entityId }).then(function (r) {
        if (r.ok) {
          refreshes += 1;
          card.part('refreshes').textContent = String(refreshes);
        }
        return show(r);
      }).finally(function () {
        button.disabled = entityId === null;
      });
    });
    return call('POST', '/api/sdk-token').then(show);
  }

  function neut() {
    var card = new Card('neut');
    var origin = document.body.getAttribute('data-neut-origin');
    var frame = card.part('frame');
    if (typeof window.mountNeutWidget !== 'function') {
      card.state('error');
      card.verdict('refused', 'The widget script did not load.');
      return;
    }
    var currentNonce = null;
    var widget = window.mountNeutWidget({
      container: frame,
      widgetOrigin: origin,
      title: 'Neut bill preview',
      params: {
        widget_id: 'bill-preview',
        instance_id: 'demo-bill-preview',
        bill_type: 'HR',
        bill_number: 1,
        congress: 119,
        colorway: 'Default',
        temp_title: 'Lower Energy Costs Act',
      },
      onEmbedUrl: function (url, info) {
        currentNonce = new URL(url).searchParams.get('bootstrap_nonce');
        card.http(200);
        card.response({ widget_id: 'bill-preview', embed_url: url });
        card.part('refreshes').textContent = String(info.refreshes);
        card.el.setAttribute('data-refreshes', String(info.refreshes));
        card.state('pending', info.refreshes > 0 ? 'Refreshing' : 'Pending');
        card.verdict('pending', info.refreshes > 0 ? 'The widget session ended; loading the fresh URL\u2026' : 'Loading the widget\u2026');
      },
      onError: function (error) {
        card.http(error.status || 0);
        card.response({ error: { code: error.code || 'NETWORK', message: error.message } });
        card.fail('Embed URL', error.status, { error: { code: error.code || 'NETWORK' } });
      },
    });
    widget.iframe.addEventListener('load', function () {
      if (!currentNonce) return;
      var nonce = currentNonce;
      if (card.mode === 'live') return card.judge({ verdict: 'live' });
      verify('neut', { nonce: nonce }).then(function (answer) {
        if (nonce === currentNonce) card.judge(answer);
      });
    });
  }

  function neuroon() {
    var card = new Card('neuroon');
    if (!card.el || card.el.getAttribute('data-state') === 'error') return;
    if (card.mode === 'live') {
      card.judge({ verdict: 'live' });
      return;
    }
    var box = document.getElementById('neuroon-search');
    function take(answer) {
      card.judge(answer);
    }
    // the stand-in widget may have finished before this script ran
    if (box && box.getAttribute('data-verdict')) take(JSON.parse(box.getAttribute('data-answer') || '{}'));
    else document.addEventListener('neuroon-sandbox-verdict', function (event) { take(event.detail); }, { once: true });
  }

  neuroon();
  nevermined();
  hissuno();
  neut();
  wonderful();
})();
