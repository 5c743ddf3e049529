// The account page's live panel: the page's own script calls XT.COM through /api/xt, on the same
// origin, with the session cookie; the browser never holds a token. Open orders are loaded at
// once; the button refreshes the balances table above. A static file: the CSP allows no inline script.
(function () {
  'use strict';
  var panel = document.querySelector('.xt-live');
  if (!panel || !window.fetch) return;
  var status = panel.querySelector('.xt-live-status');
  var button = panel.querySelector('.refresh-balances');
  var lang = document.documentElement.lang || undefined;

  function label(name) {
    return panel.getAttribute('data-label-' + name) || '';
  }

  function say(text, warn) {
    status.textContent = text;
    status.className = 'xt-live-status' + (warn ? ' status warn' : '');
  }

  // GET /api/xt/<path>. XT.COM's own answer is {rc, mc, result}; ours is {error: {code, message, next}}
  // (429 with Retry-After when the guard holds the call back).
  function xt(path) {
    return fetch('/api/xt' + path, { credentials: 'same-origin', headers: { Accept: 'application/json' } }).then(
      function (res) {
        return res.json().then(function (body) {
          var err;
          if (body && body.error) {
            err = new Error(body.error.message || body.error.code);
            err.code = body.error.code;
            throw err;
          }
          if (!body || body.rc !== 0) {
            err = new Error((body && body.mc) || 'unexpected answer');
            err.code = body && body.mc;
            throw err;
          }
          return body.result;
        });
      },
    );
  }

  // An amount (XT.COM's decimal string) in the page's locale, every decimal kept: Intl reads the
  // string as a decimal, never a float, and should the digits change all the same it is shown as sent.
  function amount(s) {
    var text = s == null ? '' : String(s);
    var m = /^-?(\d{1,30})(?:\.(\d{1,20}))?$/.exec(text);
    if (!m) return text;
    var decimals = m[2] ? m[2].length : 0;
    var digits = function (x) {
      return x.replace(/\D/g, '').replace(/^0+(?=\d)/, '');
    };
    try {
      var shown = new Intl.NumberFormat(lang, {
        minimumFractionDigits: decimals,
        maximumFractionDigits: decimals,
      }).format(text);
      return digits(shown) === digits(text) ? shown : text;
    } catch (e) {
      return text;
    }
  }

  function row(cells) {
    var tr = document.createElement('tr');
    cells.forEach(function (c) {
      var td = document.createElement('td');
      td.textContent = c.text == null ? '' : String(c.text);
      if (c.num) td.className = 'num';
      tr.appendChild(td);
    });
    return tr;
  }

  function showOpenOrders(orders) {
    var table = panel.querySelector('.open-orders');
    var body = table.querySelector('tbody');
    var list = Array.isArray(orders) ? orders : [];
    body.textContent = '';
    list.forEach(function (o) {
      body.appendChild(
        row([
          { text: String(o.symbol || '').toUpperCase() },
          // XT.COM's BUY and SELL, in the page's words (anything else as XT.COM sent it).
          { text: /^(buy|sell)$/i.test(o.side) ? label(o.side.toLowerCase()) : o.side },
          { text: amount(o.price), num: true },
          { text: amount(o.origQty), num: true },
        ]),
      );
    });
    table.hidden = list.length === 0;
    panel.querySelector('.open-orders-empty').hidden = list.length !== 0;
  }

  // Rebuilds the balances panel's content (everything after its heading) from XT.COM's answer.
  function showBalances(assets) {
    var box = document.querySelector('.panel.balances');
    if (!box) return;
    var heading = box.querySelector('h3');
    while (heading && heading.nextSibling) box.removeChild(heading.nextSibling);
    if (!assets.length) {
      var p = document.createElement('p');
      p.textContent = label('empty');
      box.appendChild(p);
      return;
    }
    var table = document.createElement('table');
    var head = document.createElement('thead');
    var tr = document.createElement('tr');
    ['currency', 'available', 'frozen'].forEach(function (k) {
      var th = document.createElement('th');
      th.scope = 'col';
      if (k !== 'currency') th.className = 'num';
      th.textContent = label(k);
      tr.appendChild(th);
    });
    head.appendChild(tr);
    table.appendChild(head);
    var body = document.createElement('tbody');
    assets.forEach(function (a) {
      body.appendChild(
        row([
          { text: String(a.currency || '').toUpperCase() },
          { text: amount(a.availableAmount), num: true },
          { text: amount(a.frozenAmount), num: true },
        ]),
      );
    });
    table.appendChild(body);
    var wrap = document.createElement('div');
    wrap.className = 'table-wrap';
    // Focusable, so that a table wider than a phone can be scrolled from the keyboard.
    wrap.tabIndex = 0;
    wrap.setAttribute('role', 'region');
    wrap.setAttribute('aria-label', heading ? heading.textContent : '');
    wrap.appendChild(table);
    box.appendChild(wrap);
  }

  function failed(err) {
    say(err.message, true);
  }

  function refreshBalances() {
    button.disabled = true;
    say(label('loading'));
    xt('/spot/v4/balances')
      .then(function (result) {
        showBalances((result && result.assets) || []);
        say(label('updated') + ' ' + new Date().toLocaleTimeString(lang));
      })
      .catch(failed)
      .then(function () {
        button.disabled = false;
      });
  }

  panel.hidden = false;
  button.addEventListener('click', refreshBalances);
  say(label('loading'));
  xt('/spot/v4/open-order')
    .then(function (orders) {
      showOpenOrders(orders);
      say('');
    })
    .catch(failed);
})();
