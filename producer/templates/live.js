// Live coverage on an open live page (producer/live-pages.ts): every few
// seconds, ask the mirror that served the page for the JSON of the newest
// entries and add the ones the page lacks to its aria-live region. The
// request is conditional (the browser revalidates its copy with the ETag),
// so an unchanged list costs a 304 from the mirror or the cache proxy in
// front of it; the origin is never asked. No script: a reload shows them.
/* global document, window, fetch, setTimeout */
(function () {
  'use strict';
  var region = document.querySelector('[data-live-updates]');
  if (!region || !window.fetch) return;
  var src = region.getAttribute('data-live-updates');
  var every = 5000;
  var seen = null;
  var timer = null;

  function entryNode(html) {
    var t = document.createElement('template');
    t.innerHTML = html;
    return t.content.firstElementChild;
  }

  function apply(data) {
    var wanted = {};
    data.entries.forEach(function (e) {
      wanted['entry-' + e.id] = true;
    });
    // Oldest first, so each new entry goes just above its older neighbour.
    var older = null;
    for (var i = data.entries.length - 1; i >= 0; i--) {
      var e = data.entries[i];
      var node = document.getElementById('entry-' + e.id);
      if (node && node.getAttribute('data-updated') !== e.updatedAt) {
        var edited = entryNode(e.html);
        node.replaceWith(edited);
        node = edited;
      } else if (!node && (older || region.children.length === 0)) {
        node = entryNode(e.html);
        region.insertBefore(node, older);
      } else if (!node) {
        // An entry older than every one shown (back-dated): at the end, where the list is oldest.
        node = entryNode(e.html);
        region.appendChild(node);
      }
      older = node;
    }
    // Deleted: an entry the list should hold (as new as its oldest, or the list is complete) but does not.
    var oldest = data.entries.length ? data.entries[data.entries.length - 1].postedAt : '';
    Array.prototype.slice.call(region.querySelectorAll('.live-entry')).forEach(function (n) {
      if (!wanted[n.id] && (data.complete || n.getAttribute('data-posted') >= oldest)) n.remove();
    });
  }

  function poll() {
    timer = null;
    if (document.hidden) return;
    fetch(src, { cache: 'no-cache', credentials: 'same-origin', headers: { accept: 'application/json' } })
      .then(function (res) {
        // Gone (the article was taken down or is no longer live): stop asking.
        if (res.status === 404 || res.status === 410) return 'stop';
        return res.ok ? res.json() : null;
      })
      .then(function (data) {
        if (data === 'stop') return;
        if (data && data.updated !== seen) {
          if (seen !== null) apply(data);
          seen = data.updated;
        }
        schedule();
      })
      .catch(schedule);
  }

  function schedule() {
    if (timer === null && !document.hidden) timer = setTimeout(poll, every);
  }

  document.addEventListener('visibilitychange', function () {
    if (!document.hidden && timer === null) poll();
  });
  poll();
})();
