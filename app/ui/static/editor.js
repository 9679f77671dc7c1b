// Progressive enhancement: refresh the propagation panel while a save is on
// its way to the mirrors. Without JavaScript the panel has a Refresh link.
/* global document, window, fetch, setTimeout */
(function () {
  'use strict';
  var panel = document.getElementById('propagation');
  if (!panel || !window.fetch) return;
  var url = panel.getAttribute('data-url');
  var rounds = 0;
  function text(node, value) {
    if (node) node.textContent = value;
  }
  function update(p) {
    var strong = document.createElement('strong');
    strong.textContent = p.summary;
    var summary = panel.querySelector('[data-field="summary"]');
    if (summary) {
      summary.textContent = '';
      summary.appendChild(strong);
    }
    text(
      panel.querySelector('[data-field="render"]'),
      p.render + (p.queuedSeconds !== null ? ' (' + p.queuedSeconds + ' s)' : ''),
    );
    text(
      panel.querySelector('[data-field="seq"]'),
      p.seq === null ? 'none' : '#' + p.seq + ' (' + (p.op === 'gone' ? 'removed, 410' : p.op) + ')',
    );
    var backlog = panel.querySelector('[data-field="backlog"]');
    if (backlog && !p.backlog) backlog.textContent = 'none';
    else if (backlog)
      backlog.textContent =
        p.backlog.waitingSaves + ' save(s) waiting, oldest ' + Math.round(p.backlog.oldestSeconds) + ' s';
    var list = panel.querySelector('[data-field="mirrors"]');
    if (list) {
      list.textContent = '';
      (p.mirrors || []).forEach(function (m) {
        var li = document.createElement('li');
        var dot = document.createElement('span');
        var queued = m.state === 'queued';
        dot.className = 'dot ' + (queued ? 'queued' : m.live ? 'ok' : 'lag');
        li.appendChild(dot);
        li.appendChild(
          document.createTextNode(
            m.name +
              ': ' +
              (queued
                ? 'queued ' + p.queuedSeconds + ' s'
                : m.live
                  ? p.op === 'gone'
                    ? 'removed'
                    : 'live'
                  : 'lagging ' + m.lagSeconds + ' s') +
              (m.reporting ? '' : ' (not reporting)'),
          ),
        );
        list.appendChild(li);
      });
    }
    return (
      p.render === 'queued' ||
      (p.mirrors &&
        p.mirrors.some(function (m) {
          return !m.live;
        }))
    );
  }
  function poll() {
    fetch(url, { credentials: 'same-origin', headers: { accept: 'application/json' } })
      .then(function (r) {
        return r.ok ? r.json() : null;
      })
      .then(function (p) {
        if (p && update(p) && ++rounds < 60) setTimeout(poll, 2000);
      })
      .catch(function () {
        /* the Refresh link still works */
      });
  }
  setTimeout(poll, 1000);
})();
