/** Every string the gallery page shows, in English; the host passes each through vscode.l10n.t. */
export const GALLERY_STRINGS = {
  title: 'Relevance Lens — data set',
  empty: 'Nothing to show yet: run “Relevance Lens: Explain Folder…”, “Show SpRAy Clusters of a Run…” or “Compare Two Runs…”.',
  sprayHeading: 'SpRAy clusters, most unusual first',
  sprayIntro: 'Run {0} (model {1}): {2} clusters over {3} classes. Each card: the cluster’s average heatmap, then its members (red = evidence for the class, blue = against). Click a member to open its explanation.',
  clusterTitle: 'Class {0} · cluster {1}',
  clusterStats: '{0} images ({1} % of the class) · unusualness {2}',
  average: 'average heatmap',
  more: '… {0} more members',
  compareHeading: 'Most changed images between two runs',
  compareIntro: 'A: {0} ({1}) · B: {2} ({3}) · {4} images · heatmap rank correlation mean {5}, median {6}, min {7} · prediction changed for {8}',
  pairTitle: '{0}: ρ {1} · predicted {2} → {3}',
  runA: 'A',
  runB: 'B',
  open: 'Open the explanation of {0}',
};

export type GalleryStrings = { [K in keyof typeof GALLERY_STRINGS]: string };
