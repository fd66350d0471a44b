/** A tiny element builder: h('button', {class: 'x', onclick}, 'text'). */
type Attrs = Record<string, string | number | boolean | undefined | ((e: Event) => void)>;
type Child = Node | string | number | null | undefined | false;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: (Child | Child[])[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    if (typeof v === 'function') el.addEventListener(k.replace(/^on/, ''), v);
    else if (k === 'value' && 'value' in el) (el as HTMLInputElement).value = String(v);
    else if (k === 'checked' && v === true) (el as HTMLInputElement).checked = true;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function option(value: string, label: string, selected: boolean): HTMLOptionElement {
  return h('option', { value, selected }, label);
}

const FOCUSABLE = 'button:not(:disabled), select:not(:disabled), input:not(:disabled), summary, [tabindex]:not([tabindex="-1"])';

/**
 * Replaces an element's children, keeping keyboard focus on the control with the same data-control.
 * When that control is gone (the Cancel button once the run has stopped), focus moves to the first
 * control of the same region instead of falling back to the top of the page.
 */
export function replaceKeepingFocus(container: HTMLElement, ...children: (Node | string)[]): void {
  const active = document.activeElement as HTMLElement | null;
  const had = !!active && active !== container && container.contains(active);
  const key = had ? active!.dataset.control : undefined;
  container.replaceChildren(...children);
  if (!had) return;
  const same = key ? container.querySelector<HTMLElement>(`[data-control="${CSS.escape(key)}"]`) : null;
  (same ?? container.querySelector<HTMLElement>(FOCUSABLE))?.focus();
}

/**
 * Swaps `el` for `next` unless they look the same (markup and checkbox states). An update that changes
 * nothing then leaves the DOM alone, and the page is not laid out again for it.
 */
export function replaceIfChanged(el: Element | null, next: Element): void {
  const checks = (e: Element) => [...e.querySelectorAll<HTMLInputElement>('input[type="checkbox"]')].map((c) => c.checked).join();
  if (el && (el.outerHTML !== next.outerHTML || checks(el) !== checks(next))) el.replaceWith(next);
}

/** Draws RGBA pixels on a canvas of the picture's own size (CSS scales it up). */
export function drawPicture(canvas: HTMLCanvasElement, pic: { width: number; height: number; rgba: Uint8ClampedArray }): CanvasRenderingContext2D {
  canvas.width = pic.width;
  canvas.height = pic.height;
  const ctx = canvas.getContext('2d', { willReadFrequently: true })!;
  ctx.putImageData(new ImageData(new Uint8ClampedArray(pic.rgba), pic.width, pic.height), 0, 0);
  return ctx;
}

export function fmtNum(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (v === 0) return '0';
  const a = Math.abs(v);
  return a >= 1e4 || a < 1e-3 ? v.toExponential(3) : v.toPrecision(4);
}

export function format(template: string, ...args: (string | number)[]): string {
  return template.replace(/\{(\d+)\}/g, (_, i) => String(args[Number(i)]));
}
