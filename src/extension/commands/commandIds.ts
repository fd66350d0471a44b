/** Command ids, as contributed in package.json. */
export const COMMANDS = {
  openModel: 'relevanceLens.openModel',
  explainImage: 'relevanceLens.explainImage',
  explainWithMethod: 'relevanceLens.explainWithMethod',
  compareMethods: 'relevanceLens.compareMethods',
  exportHeatmap: 'relevanceLens.exportHeatmap',
  fitPatterns: 'relevanceLens.fitPatterns',
  showPanel: 'relevanceLens.showPanel',
  selectComposite: 'relevanceLens.selectComposite',
  setLayerRule: 'relevanceLens.setLayerRule',
  resetLayerRule: 'relevanceLens.resetLayerRule',
  resetAllRules: 'relevanceLens.resetAllRules',
  showLayerMaps: 'relevanceLens.showLayerMaps',
  refreshModels: 'relevanceLens.refreshModels',
  explainFolder: 'relevanceLens.explainFolder',
  showRun: 'relevanceLens.showRun',
  compareRuns: 'relevanceLens.compareRuns',
} as const;
