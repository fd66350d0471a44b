/** File-name conventions shared by the extension host and the engine worker (pure string work). */

/** A model's fitted PatternNet patterns live next to it (model.json -> model.patterns), usable by the CLI too. */
export function patternsPathFor(modelPath: string): string {
  return modelPath.replace(/\.[^./\\]+$/, '') + '.patterns';
}
