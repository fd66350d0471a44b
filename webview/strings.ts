/** Strings injected by the host (already localized) in <script type="application/json" id="rl-strings">. */
import { STRINGS, type Strings } from '../src/shared/strings';

function load(): Strings {
  try {
    const text = document.getElementById('rl-strings')?.textContent;
    return { ...STRINGS, ...(text ? (JSON.parse(text) as Partial<Strings>) : {}) };
  } catch {
    return { ...STRINGS };
  }
}

export const t: Strings = load();
