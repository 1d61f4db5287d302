// Stand-in for Neuroon's widget script in sandbox mode: reads the token from its own
// script tag, as the real widget does, and has the sandbox's widget API check it.
(function () {
  'use strict';
  var script = document.currentScript;
  if (!script) return;
  var token = script.getAttribute('data-token') || '';
  var box = document.querySelector(script.getAttribute('data-container') || '#neuroon-search');
  if (!box) return;

  var field = document.createElement('input');
  field.type = 'search';
  field.placeholder = 'Search the demo shop\u2026';
  field.setAttribute('aria-label', 'Search the demo shop');
  var note = document.createElement('p');
  note.className = 'note';
  note.textContent = 'Sandbox widget: checking its token with the widget API\u2026';
  box.append(field, note);

  function done(answer) {
    box.setAttribute('data-verdict', answer.verdict);
    box.setAttribute('data-answer', JSON.stringify(answer));
    note.textContent =
      answer.verdict === 'verified' ? 'Sandbox widget: token accepted (X-Widget-Token).' : 'Sandbox widget: token refused (' + (answer.reason || 'unknown') + ').';
    document.dispatchEvent(new CustomEvent('neuroon-sandbox-verdict', { detail: answer }));
  }

  fetch('/demo/verify/neuroon', {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
    body: JSON.stringify({ token: token }),
  })
    .then(function (res) {
      return res.ok ? res.json() : { verdict: 'refused', reason: 'verdict endpoint answered ' + res.status };
    })
    .then(done, function () {
      done({ verdict: 'refused', reason: 'network error' });
    });
})();
