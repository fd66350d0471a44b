/**
 * Text from model files (layer names, labels, file names) shown where VS Code renders markdown: tree
 * tooltips (MarkdownString) and notifications (which turn [x](command:…) into a clickable command).
 * Everything such text could mean to markdown or HTML is escaped, so it shows as the characters it is.
 */

/** Escapes markdown and HTML syntax: backslash-escapes punctuation, and < > & become entities. */
export function escapeMarkdown(text: string): string {
  return text
    .replace(/[\\`*_{}[\]()#+\-.!|~>:"'$=]/g, (c) => `\\${c}`)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/\r?\n|\r/g, ' ');
}

/** Text inside a markdown code span: backticks in it cannot close the span when the fence is longer. */
export function markdownCode(text: string): string {
  const runs = text.match(/`+/g) ?? [];
  const fence = '`'.repeat(Math.max(0, ...runs.map((r) => r.length)) + 1);
  const pad = text.startsWith('`') || text.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${text.replace(/\r?\n|\r/g, ' ')}${pad}${fence}`;
}

/**
 * A plain-text message for a notification. VS Code turns `[label](command:…)` in a notification into a
 * link (its own regex, no escaping syntax), so a zero-width space goes between `]` and `(`.
 */
export function escapeNotification(text: string): string {
  return text.replace(/\]\(/g, ']\u200b(');
}

export interface TooltipLayer {
  name: string;
  op: string;
  sourceClass?: string;
  shape: number[];
  params: number;
  ruleable: boolean;
  rule?: string;
  overridden?: boolean;
}

/** The Layers view's tooltip as markdown: every value from the model file escaped. */
export function layerTooltipMarkdown(layer: TooltipLayer): string {
  const shape = `[${layer.shape.join('×')}]`;
  return [
    `**${escapeMarkdown(layer.name)}** (${escapeMarkdown(layer.sourceClass ?? layer.op)})`,
    `- op: ${markdownCode(layer.op)}`,
    `- output shape: ${markdownCode(shape)}`,
    `- parameters: ${layer.params.toLocaleString()}`,
    layer.ruleable ? `- rule: ${markdownCode(layer.rule ?? '')}${layer.overridden ? ' (set by you)' : ' (from the composite)'}` : '- passes relevance through',
  ].join('\n');
}
