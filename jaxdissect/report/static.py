"""The style sheet and the script of the report pages, inlined into every page.

Inlined rather than linked, so that each page is one file that opens from disk with no server and
no network (no CDN, no web fonts). The layer page script sorts and filters the unit cards, keeps
the view in the URL fragment (``#sort=iou&cat=object&min=0.04&q=tree``, so a view can be linked),
lets a click on a bar of the concept graph show that concept's units, and records how many strip
images loaded or failed as ``data-strips-loaded`` / ``data-strips-broken`` on ``<html>`` (a card
whose image fails shows a note instead). The other pages count their images the same way
(``data-images-loaded`` / ``data-images-broken``); the unit page's script also switches the
outline overlay of its gallery. Cards off screen are not laid out until scrolled to
(``content-visibility``), so that a layer of hundreds of units paints sooner.
"""

STYLE = """
:root { --ink:#1f2328; --muted:#656d76; --line:#d8dee4; --bg:#f6f8fa; --accent:#0969da; }
* { box-sizing:border-box; }
body { margin:0; font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;
  color:var(--ink); background:var(--bg); }
header.top { background:#24292f; color:#fff; padding:10px 24px; display:flex; gap:18px;
  align-items:baseline; flex-wrap:wrap; }
header.top a { color:#c9d1d9; text-decoration:none; }
header.top a:hover { color:#fff; text-decoration:underline; }
header.top .brand { font-weight:600; color:#fff; }
main { padding:16px 24px 40px; max-width:1800px; margin:0 auto; }
h1 { font-size:24px; margin:6px 0 2px; }
h1 small { font-size:15px; color:var(--muted); font-weight:400; margin-left:8px; }
h2 { font-size:17px; margin:22px 0 8px; }
.meta { color:var(--muted); margin:0 0 12px; }
.meta b { color:var(--ink); }
.panels { display:flex; flex-wrap:wrap; gap:14px; align-items:flex-start; }
.panel { background:#fff; border:1px solid var(--line); border-radius:8px; padding:10px 12px;
  max-width:100%; }
.panel h3 { font-size:13px; margin:0 0 6px; color:var(--muted); font-weight:600; }
.scroll-x { overflow-x:auto; }
.bargraph .bar { cursor:pointer; }
.bargraph .bar:hover rect, .bargraph .bar:focus rect { opacity:.75; }
table.counts { border-collapse:collapse; font-variant-numeric:tabular-nums; }
table.counts th, table.counts td { padding:3px 9px; border-bottom:1px solid var(--line);
  text-align:right; }
table.counts th:first-child, table.counts td:first-child { text-align:left; }
table.counts thead th { font-size:12px; color:var(--muted); font-weight:600; }
table.counts td.total { font-weight:600; }
.controls { position:sticky; top:0; z-index:5; background:var(--bg); padding:10px 0;
  display:flex; flex-wrap:wrap; gap:10px 16px; align-items:center;
  border-bottom:1px solid var(--line); margin-bottom:12px; }
.controls label { color:var(--muted); font-size:13px; display:flex; gap:6px; align-items:center; }
.controls select, .controls input { font:inherit; padding:4px 6px; border:1px solid var(--line);
  border-radius:6px; background:#fff; }
.controls input[type=number] { width:76px; }
.controls input[type=search] { width:210px; }
.controls .shown { margin-left:auto; color:var(--muted); }
.cards { display:grid; grid-template-columns:repeat(auto-fill,minmax(500px,1fr)); gap:12px; }
.card { background:#fff; border:1px solid var(--line); border-radius:8px; padding:8px 10px 9px;
  display:flex; flex-direction:column; gap:6px; min-width:0; }
.card[hidden] { display:none; }
/* Cards off screen are not laid out until scrolled to: a 512-unit page paints sooner. */
.card { content-visibility:auto; contain-intrinsic-size:auto 190px; }
.card.dull { opacity:.72; }
.card-head { display:flex; gap:10px; align-items:baseline; flex-wrap:wrap; }
.card-head .unit { font-weight:600; font-variant-numeric:tabular-nums; }
.card-head .label { font-size:16px; font-weight:600; }
.card.dull .label { font-weight:400; font-style:italic; color:var(--muted); }
.cat { font-size:11px; color:#fff; border-radius:10px; padding:1px 8px; letter-spacing:.02em; }
.card-head .iou { margin-left:auto; font-variant-numeric:tabular-nums; font-weight:600; }
.strip { display:block; width:100%; max-width:100%; height:auto; border-radius:3px;
  background:#eaeef2; }
.card.missing .strip { display:none; }
.card .nostrip { display:none; color:var(--muted); font-size:12px; padding:14px 0; }
.card.missing .nostrip { display:block; }
.card-foot { display:flex; gap:12px; color:var(--muted); font-size:12px; align-items:center;
  font-variant-numeric:tabular-nums; }
.ioubar { flex:1; height:5px; background:#eaeef2; border-radius:3px; overflow:hidden; }
.ioubar span { display:block; height:100%; }
.empty { color:var(--muted); padding:30px 0; text-align:center; display:none; }
.note { color:var(--muted); font-size:12.5px; max-width:900px; }
a { color:var(--accent); }
dl.runinfo { display:flex; flex-wrap:wrap; gap:4px 22px; margin:4px 0 12px; padding:8px 12px;
  background:#fff; border:1px solid var(--line); border-radius:8px; font-size:13px; }
dl.runinfo div { display:flex; gap:6px; align-items:baseline; }
dl.runinfo dt { color:var(--muted); font-size:11.5px; text-transform:uppercase;
  letter-spacing:.04em; }
dl.runinfo dd { margin:0; }
dl.runinfo .dim { color:var(--muted); font-size:12px; }
code { font:12px ui-monospace,SFMono-Regular,Menlo,monospace; background:#eef1f4;
  padding:0 4px; border-radius:4px; }
.finding { font-weight:600; margin:2px 0 4px; max-width:900px; }
ul.findings { margin:2px 0 8px; padding-left:18px; font-size:13px; max-width:900px; }
.experiment { max-width:100%; }
.pictures { margin-top:8px; }
.picture-row { display:flex; gap:10px; align-items:center; margin:4px 0; }
.picture-row .picture-title { width:150px; flex:none; font-size:12px; color:var(--muted);
  text-align:right; }
.picture-row img { image-rendering:pixelated; max-width:calc(100% - 300px); height:auto; }
.picture-row .picture-note { font-size:12px; color:var(--muted); }
.gallery { position:relative; display:inline-block; max-width:100%; line-height:0; }
.gallery img { display:block; width:100%; height:auto; }
.gallery img.outline { position:absolute; left:0; top:0; width:100%; height:100%; }
.gallery.plain img.outline { display:none; }
.toggle { display:block; font-size:12.5px; color:var(--muted); margin:0 0 6px; }
.unit-concepts td.concepts { text-align:left; }
.unit-concepts .concept { display:inline-flex; align-items:center; gap:5px; margin:1px 14px 1px 0;
  font-variant-numeric:tabular-nums; }
.unit-concepts .concept.over { font-weight:600; }
.unit-concepts .bar { display:inline-block; height:8px; border-radius:2px; min-width:1px; }
.dim { color:var(--muted); }
.card-head a.unit { color:inherit; text-decoration:none; border-bottom:1px dotted var(--muted); }
h2 small { font-size:13px; color:var(--muted); font-weight:400; margin-left:8px; }
figure { margin:0; }
"""

LAYER_SCRIPT = """
(function () {
  var grid = document.getElementById('cards');
  var cards = Array.prototype.slice.call(grid.children);
  var sortBox = document.getElementById('sort'), catBox = document.getElementById('cat');
  var minBox = document.getElementById('min'), textBox = document.getElementById('q');
  var shown = document.getElementById('shown'), empty = document.getElementById('empty');
  var keys = {
    iou: function (a, b) { return b.iou - a.iou || a.unit - b.unit; },
    unit: function (a, b) { return a.unit - b.unit; },
    label: function (a, b) {
      return a.label < b.label ? -1 : a.label > b.label ? 1 : b.iou - a.iou;
    }
  };
  var rows = cards.map(function (el) {
    return { el: el, unit: +el.dataset.unit, iou: +el.dataset.iou,
             label: el.dataset.label.toLowerCase(), cat: el.dataset.cat };
  });
  function matches(row, cat, min, text) {
    if (cat && row.cat !== cat) return false;
    if (row.iou < min) return false;
    if (!text) return true;
    var exact = text.length > 1 && text.charAt(0) === '"' && text.charAt(text.length - 1) === '"';
    return exact ? row.label === text.slice(1, -1) : row.label.indexOf(text) >= 0;
  }
  function apply() {
    var cat = catBox.value, min = parseFloat(minBox.value) || 0;
    var text = textBox.value.trim().toLowerCase();
    var order = rows.slice().sort(keys[sortBox.value] || keys.iou);
    var fragment = document.createDocumentFragment(), count = 0;
    order.forEach(function (row) {
      var ok = matches(row, cat, min, text);
      row.el.hidden = !ok;
      count += ok ? 1 : 0;
      fragment.appendChild(row.el);
    });
    grid.appendChild(fragment);
    shown.textContent = count + ' of ' + rows.length + ' units';
    empty.style.display = count ? 'none' : 'block';
    var state = 'sort=' + sortBox.value + '&cat=' + encodeURIComponent(cat) + '&min=' +
      encodeURIComponent(minBox.value) + '&q=' + encodeURIComponent(textBox.value);
    history.replaceState(null, '', '#' + state);
  }
  function restore() {
    var params = {};
    location.hash.replace(/^#/, '').split('&').forEach(function (part) {
      var kv = part.split('=');
      if (kv[0]) params[kv[0]] = decodeURIComponent(kv[1] || '');
    });
    if (params.sort && keys[params.sort]) sortBox.value = params.sort;
    if ('cat' in params) catBox.value = params.cat;
    if ('min' in params) minBox.value = params.min;
    if ('q' in params) textBox.value = params.q;
  }
  [sortBox, catBox, minBox, textBox].forEach(function (box) {
    box.addEventListener('input', apply);
    box.addEventListener('change', apply);
  });
  Array.prototype.forEach.call(document.querySelectorAll('.bargraph .bar'), function (bar) {
    bar.setAttribute('tabindex', '0');
    function pick() {
      textBox.value = '"' + bar.dataset.label + '"';
      catBox.value = '';
      sortBox.value = 'iou';
      apply();
      grid.scrollIntoView({ behavior: 'smooth' });
    }
    bar.addEventListener('click', pick);
    bar.addEventListener('keydown', function (e) { if (e.key === 'Enter') pick(); });
  });
  var root = document.documentElement, loaded = 0, broken = 0;
  function record() {
    root.dataset.stripsLoaded = loaded;
    root.dataset.stripsBroken = broken;
  }
  Array.prototype.forEach.call(grid.querySelectorAll('img.strip'), function (img) {
    function done() { if (img.naturalWidth > 0) { loaded++; } else { fail(); } record(); }
    function fail() { broken++; img.closest('.card').classList.add('missing'); }
    if (img.complete && img.getAttribute('src')) { done(); return; }
    img.addEventListener('load', done);
    img.addEventListener('error', function () { fail(); record(); });
  });
  record();
  restore();
  apply();
})();
"""

# Pages other than the layer page count their images as they load (``data-images-loaded`` and
# ``data-images-broken`` on ``<html>``), as the layer page counts its strips.
IMAGES_SCRIPT = """
(function () {
  var root = document.documentElement, loaded = 0, broken = 0;
  function record() { root.dataset.imagesLoaded = loaded; root.dataset.imagesBroken = broken; }
  Array.prototype.forEach.call(document.querySelectorAll('img'), function (img) {
    function done() { if (img.naturalWidth > 0) { loaded++; } else { broken++; } record(); }
    if (img.complete) { done(); return; }
    img.addEventListener('load', done);
    img.addEventListener('error', function () { broken++; record(); });
  });
  record();
})();
"""

# The unit page: the outline toggle, then the image count.
UNIT_SCRIPT = """
(function () {
  var box = document.getElementById('outline'), gallery = document.getElementById('gallery');
  if (!box || !gallery) return;
  var show = function () { gallery.classList.toggle('plain', !box.checked); };
  box.addEventListener('change', show);
  show();
})();
""" + IMAGES_SCRIPT
