// Element helpers. Data only ever becomes text nodes or attribute values (never innerHTML),
// so a host var like <script>…</script> shows literally (docs/console.md, "Escaping").

/**
 * h('a', {href: '#/'}, 'text', child) — attributes by setAttribute (`class`, `hidden`, …),
 * `on*` functions as listeners; children: strings/numbers become text nodes, null is skipped.
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'value') el.value = String(v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
  }
  return el;
}

export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return el;
}

/** Replaces the page's content and moves focus there (keyboard and screen reader users). */
export function show(...children) {
  const main = document.getElementById('main');
  clear(main);
  append(main, children);
  main.focus({ preventScroll: true });
}

/** A two-column definition list from [label, value] pairs. */
export function facts(pairs) {
  return h('dl', { class: 'facts' }, pairs.map(([k, v]) => [h('dt', null, k), h('dd', null, v ?? '—')]));
}

/** Asks through the page's own <dialog> (not window.confirm): true when confirmed. */
export function confirmDialog(text, okLabel) {
  const dlg = document.getElementById('confirm');
  document.getElementById('confirm-text').textContent = text;
  document.getElementById('confirm-ok').textContent = okLabel;
  dlg.returnValue = '';
  dlg.showModal();
  document.getElementById('confirm-cancel').focus();
  return new Promise((resolve) => {
    dlg.addEventListener('close', () => resolve(dlg.returnValue === 'ok'), { once: true });
  });
}
