/** Saves a tfjs-layers model as model.json + one weight shard in a folder (pure tfjs has no file://). */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import * as fs from 'fs';
import * as path from 'path';

export async function saveLayersModel(model: tfl.LayersModel, dir: string): Promise<string> {
  fs.mkdirSync(dir, { recursive: true });
  await model.save(tf.io.withSaveHandler(async (art) => {
    const shard = 'group1-shard1of1.bin';
    fs.writeFileSync(path.join(dir, shard), Buffer.from(art.weightData as ArrayBuffer));
    const json = {
      format: 'layers-model',
      generatedBy: 'relevance-lens tests',
      modelTopology: art.modelTopology,
      weightsManifest: [{ paths: [shard], weights: art.weightSpecs }],
    };
    fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify(json));
    return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
  }));
  return path.join(dir, 'model.json');
}
