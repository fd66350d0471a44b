/**
 * Names from model files (layer names, labels, file names) shown where VS Code renders markdown: the
 * Layers view's tooltip and error notifications. Each hostile name must come out as its own characters,
 * with no HTML element, image or command link left to render. Fails when the escaping is removed.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { escapeMarkdown, escapeNotification, layerTooltipMarkdown, markdownCode } from '../../src/shared/escape';
import { isValidViewMessage } from '../../src/shared/protocol';

export const HOSTILE_NAMES = [
  '<img src=x onerror=alert(1)>',
  '[x](command:workbench.action.quit)',
  '![img](https://example.com/x.png)',
  '**bold** _em_ `code` <b>b</b>',
  'a\nb # heading',
  '<script>alert(1)</script>&amp;',
  '`` `tick` ``',
];

/** Undoes escapeMarkdown (backslash escapes, the two entities, newline as space): what a renderer shows. */
function shown(md: string): string {
  return md.replace(/\\(.)/g, '$1').replace(/&lt;/g, '<').replace(/&amp;/g, '&');
}

test('escapeMarkdown: hostile names render as their text (no tag, link or image syntax left)', () => {
  for (const name of HOSTILE_NAMES) {
    const md = escapeMarkdown(name);
    assert.ok(!/<[a-z!/]/i.test(md), `raw tag in ${md}`);
    assert.ok(!/(^|[^\\])\]\(/.test(md), `link syntax in ${md}`);
    assert.ok(!/(^|[^\\])!\[/.test(md), `image syntax in ${md}`);
    assert.ok(!/(^|[^\\])[*_`]/.test(md), `emphasis/code syntax in ${md}`);
    assert.ok(!md.includes('\n'), 'one line');
    assert.equal(shown(md), name.replace(/\n/g, ' '));
  }
});

test('the Layers tooltip escapes the layer name, class and rule', () => {
  for (const name of HOSTILE_NAMES) {
    const md = layerTooltipMarkdown({ name, op: 'dense', sourceClass: name, shape: [10], params: 1234, ruleable: true, rule: name, overridden: true });
    const first = md.split('\n')[0];
    assert.ok(first.startsWith(`**${escapeMarkdown(name)}**`), first);
    // outside code spans (which render literally) no tag or link remains
    const prose = md.replace(/(`+)[\s\S]*?\1/g, '');
    assert.ok(!/<img|<script|<b>/i.test(prose), md);
    assert.ok(!/(^|[^\\])\]\(command:/.test(prose), md);
    // the rule sits in a code span that its own backticks cannot close
    assert.ok(md.includes(`- rule: ${markdownCode(name)}`), md);
  }
  const code = markdownCode('a``b');
  assert.equal(code, '```a``b```');
});

test('notifications: no [label](command:…) link can form from a message', () => {
  const msg = escapeNotification("model.json: layer '[x](command:workbench.action.quit)' (Dense): op 'Foo' is not supported");
  // VS Code's notification link pattern
  assert.ok(!/\[([^\]]+)\]\(((?:https?:\/\/|command:|file:)[^)\s]+)/.test(msg), msg);
  assert.ok(msg.includes('[x]'), 'the text stays readable');
});

test('webview messages: parameter ranges are checked by the shared validation', () => {
  const ok = { colormap: 'seismic', scale: 'percentile', percentile: 99, polarity: 'both', opacity: 0.5 };
  assert.ok(isValidViewMessage('event', 'setDisplay', { display: ok }));
  // every polarity of the panel's selector passes the guard, a misspelt one does not
  for (const polarity of ['both', 'positive', 'negative', 'absolute']) assert.ok(isValidViewMessage('event', 'setDisplay', { display: { ...ok, polarity } }), polarity);
  for (const bad of [{ ...ok, percentile: 0 }, { ...ok, percentile: 200 }, { ...ok, opacity: 5 }, { ...ok, opacity: -0.1 }, { ...ok, polarity: 'abs' }]) {
    assert.ok(!isValidViewMessage('event', 'setDisplay', { display: bad }), JSON.stringify(bad));
  }
  assert.ok(isValidViewMessage('event', 'setParams', { params: { epsilon: 0.1, gamma: 0.5, low: 0, high: 1 } }));
  for (const bad of [{ epsilon: -1 }, { epsilon: 0 }, { gamma: -1 }, { low: 1, high: 0 }, { alpha: 3, beta: 1 }]) {
    assert.ok(!isValidViewMessage('event', 'setParams', { params: bad }), JSON.stringify(bad));
  }
  assert.ok(isValidViewMessage('event', 'setMethodParams', { methodParams: { samples: 8, sigma: 0.1, steps: 16 } }));
  for (const bad of [{ samples: 2.5 }, { samples: 1e9 }, { steps: 0 }, { sigma: -1 }]) {
    assert.ok(!isValidViewMessage('event', 'setMethodParams', { methodParams: bad }), JSON.stringify(bad));
  }
});
