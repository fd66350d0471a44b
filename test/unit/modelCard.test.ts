import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  defaultCard,
  findCardPath,
  inputBounds,
  readCard,
  scalePixelValue,
  writeCard,
  type ModelCard,
} from '../../src/core/card/modelCard';
import { LensError } from '../../src/core/errors';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lens-card-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));
let n = 0;

function cardFile(json: unknown, name = 'model.lens.json'): string {
  const dir = path.join(tmp, `c${n++}`);
  fs.mkdirSync(dir);
  const file = path.join(dir, name);
  fs.writeFileSync(file, typeof json === 'string' ? json : JSON.stringify(json));
  return file;
}

const validInput = { height: 28, width: 28, channels: 1, scaling: '[0,1]' };

/** Reads a card that must fail, and checks the message names the card file and the field. */
function assertCardError(json: unknown, field: string, problem: RegExp): void {
  const file = cardFile(json);
  assert.throws(() => readCard(file), (e: unknown) => {
    assert.ok(e instanceof LensError, String(e));
    assert.equal(e.code, 'bad-card');
    assert.equal(e.file, file);
    assert.ok(e.message.startsWith(`${file}: ${field}: `), e.message);
    assert.match(e.message, problem);
    assert.ok(!e.message.includes('\n'));
    return true;
  });
}

describe('findCardPath', () => {
  it('prefers <stem>.lens.json, then relevance-lens.json, else undefined', () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'find-'));
    const model = path.join(dir, 'model.json');
    fs.writeFileSync(model, '{}');
    assert.equal(findCardPath(model), undefined);
    fs.writeFileSync(path.join(dir, 'relevance-lens.json'), '{}');
    assert.equal(findCardPath(model), path.join(dir, 'relevance-lens.json'));
    fs.writeFileSync(path.join(dir, 'model.lens.json'), '{}');
    assert.equal(findCardPath(model), path.join(dir, 'model.lens.json'));
    // an ONNX model in the same folder has no card of its own: the folder card applies
    assert.equal(findCardPath(path.join(dir, 'net.onnx')), path.join(dir, 'relevance-lens.json'));
  });

  it('looks inside a model folder', () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'saved-'));
    fs.writeFileSync(path.join(dir, 'relevance-lens.json'), '{}');
    assert.equal(findCardPath(dir), path.join(dir, 'relevance-lens.json'));
  });
});

describe('readCard', () => {
  it('reads a full card and fills defaults', () => {
    const file = cardFile({ input: validInput, labels: ['zero', 'one'], output: { node: 'dense_2' } });
    const card = readCard(file);
    assert.deepEqual(card.input, { height: 28, width: 28, channels: 1, channelOrder: 'rgb', resize: 'bilinear', scaling: '[0,1]' });
    assert.deepEqual(card.labels, ['zero', 'one']);
    assert.deepEqual(card.output, { node: 'dense_2' });
    assert.equal(card.cardPath, file);
  });

  it('resolves a labels file relative to the card (CRLF, BOM, trailing newlines)', () => {
    const file = cardFile({ input: validInput, labels: 'data/labels.txt' });
    fs.mkdirSync(path.join(path.dirname(file), 'data'));
    fs.writeFileSync(path.join(path.dirname(file), 'data', 'labels.txt'), '\uFEFFcat\r\ndog\r\n\r\nbird\n\n');
    const card = readCard(file);
    assert.deepEqual(card.labels, ['cat', 'dog', '', 'bird']);
    assert.equal(card.labelsFile, 'data/labels.txt');
  });

  it('broadcasts a single mean/std to all channels', () => {
    const file = cardFile({ input: { ...validInput, channels: 3, scaling: { mean: [0.5], std: [0.25] } } });
    assert.deepEqual(readCard(file).input.scaling, { mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] });
  });

  it('reports a missing card as bad-input and broken JSON as bad-card', () => {
    const missing = path.join(tmp, 'none.lens.json');
    assert.throws(() => readCard(missing), (e: unknown) => e instanceof LensError && e.code === 'bad-input' && e.message === `${missing}: file not found`);
    const file = cardFile('{ "input": ');
    assert.throws(() => readCard(file), (e: unknown) => e instanceof LensError && e.code === 'bad-card' && /not valid JSON/.test(e.message));
  });

  it('names the field of every bad value', () => {
    const with_ = (over: object) => ({ input: { ...validInput, ...over } });
    assertCardError([1, 2], 'card', /expected a JSON object/);
    assertCardError({}, 'input', /expected an object, got nothing/);
    assertCardError(with_({ height: -3 }), 'input.height', /positive integer, got -3/);
    assertCardError(with_({ width: 2.5 }), 'input.width', /positive integer/);
    assertCardError(with_({ channels: 4 }), 'input.channels', /1 or 3, got 4/);
    assertCardError(with_({ channelOrder: 'rbg' }), 'input.channelOrder', /"rgb", "bgr"/);
    assertCardError(with_({ channelOrder: 'bgr' }), 'input.channelOrder', /needs 3 channels/);
    assertCardError(with_({ resize: 'bicubic' }), 'input.resize', /"center-crop", got "bicubic"/);
    assertCardError({ input: { height: 28, width: 28, channels: 1 } }, 'input.scaling', /missing/);
    assertCardError(with_({ scaling: '[0,2]' }), 'input.scaling', /got "\[0,2\]"/);
    assertCardError(with_({ channels: 3, scaling: { mean: [1, 2], std: [1, 1, 1] } }), 'input.scaling.mean', /3 numbers/);
    assertCardError(with_({ channels: 3, scaling: { mean: [0, 0, 0], std: [1, 0, 1] } }), 'input.scaling.std[1]', /must be > 0, got 0/);
    assertCardError(with_({ scaling: { mean: ['0'], std: [1] } }), 'input.scaling.mean[0]', /expected a number/);
    assertCardError(with_({ scaling: { mean: [0], std: [1], scale: 0 } }), 'input.scaling.scale', /> 0/);
    assertCardError(with_({ scaling: { mean: [0], std: [1], offset: 1 } }), 'input.scaling.offset', /unknown field/);
    assertCardError(with_({ chanels: 1 }), 'input.chanels', /unknown field/);
    assertCardError({ input: validInput, lables: [] }, 'lables', /unknown field/);
    assertCardError({ input: validInput, labels: ['a', 'b', 3] }, 'labels[2]', /expected a string, got 3/);
    assertCardError({ input: validInput, labels: 7 }, 'labels', /array of strings or a labels file/);
    assertCardError({ input: validInput, labels: 'missing.txt' }, 'labels', /file not found/);
    assertCardError({ input: validInput, output: { node: 3 } }, 'output.node', /node name/);
    assertCardError({ input: validInput, output: { index: 0 } }, 'output.index', /unknown field/);
  });
});

describe('defaultCard', () => {
  it('guesses [0,1], bilinear, rgb from [H,W,C]', () => {
    assert.deepEqual(defaultCard([32, 32, 3]).input, {
      height: 32, width: 32, channels: 3, channelOrder: 'rgb', resize: 'bilinear', scaling: '[0,1]',
    });
    assert.equal(defaultCard([28, 28, 1]).input.channels, 1);
  });

  it('drops a batch dimension and replaces unknown sides with 224', () => {
    const card = defaultCard([1, -1, -1, 3]);
    assert.equal(card.input.height, 224);
    assert.equal(card.input.width, 224);
  });

  it('rejects inputs that are not 1- or 3-channel images', () => {
    assert.throws(() => defaultCard([28, 28, 4]), LensError);
    assert.throws(() => defaultCard([784]), LensError);
  });
});

describe('inputBounds', () => {
  const card = (scaling: ModelCard['input']['scaling'], channels: 1 | 3 = 3): ModelCard => ({
    input: { height: 1, width: 1, channels, channelOrder: 'rgb', resize: 'bilinear', scaling },
  });
  const close = (a: number[], b: number[]) => a.forEach((v, i) => assert.ok(Math.abs(v - b[i]) < 1e-9, `${a} vs ${b}`));

  it('gives the preprocessed values of pixels 0 and 255 for mean/std (ImageNet)', () => {
    const mean = [0.485, 0.456, 0.406];
    const std = [0.229, 0.224, 0.225];
    const b = inputBounds(card({ mean, std }));
    close(b.low, mean.map((m, i) => -m / std[i]));
    close(b.high, mean.map((m, i) => (1 - m) / std[i]));
    assert.ok(Math.abs(b.low[0] - -2.1179039) < 1e-6);
    assert.ok(Math.abs(b.high[2] - 2.64) < 1e-9);
  });

  it('honours scale (Caffe-style mean subtraction on 0..255)', () => {
    const b = inputBounds(card({ mean: [103.939, 116.779, 123.68], std: [1, 1, 1], scale: 1 }));
    close(b.low, [-103.939, -116.779, -123.68]);
    close(b.high, [151.061, 138.221, 131.32]);
  });

  it('handles the named scalings', () => {
    assert.deepEqual(inputBounds(card('[0,1]', 1)), { low: [0], high: [1] });
    assert.deepEqual(inputBounds(card('[-1,1]')), { low: [-1, -1, -1], high: [1, 1, 1] });
    assert.deepEqual(inputBounds(card('[0,255]', 1)), { low: [0], high: [255] });
  });

  it('agrees with the per-pixel scaling used by preprocessing', () => {
    const s = { mean: [0.5], std: [0.5] };
    assert.equal(scalePixelValue(s, 0, 0), inputBounds(card(s, 1)).low[0]);
    assert.equal(scalePixelValue(s, 0, 255), 1);
  });
});

describe('writeCard', () => {
  it('round-trips through readCard, keeping a labels file as a path', () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'write-'));
    fs.writeFileSync(path.join(dir, 'labels.txt'), 'a\nb\n');
    const file = path.join(dir, 'model.lens.json');
    const card: ModelCard = {
      input: { height: 224, width: 224, channels: 3, channelOrder: 'bgr', resize: 'center-crop', scaling: { mean: [1, 2, 3], std: [4, 5, 6], scale: 1 } },
      labels: 'labels.txt',
      output: { node: 'logits' },
    };
    writeCard(file, card);
    const back = readCard(file);
    assert.deepEqual(back.input, card.input);
    assert.deepEqual(back.labels, ['a', 'b']);
    writeCard(file, back);
    assert.equal(JSON.parse(fs.readFileSync(file, 'utf8')).labels, 'labels.txt');
    assert.deepEqual(fs.readdirSync(dir).sort(), ['labels.txt', 'model.lens.json']);
  });

  it('refuses to write an invalid card', () => {
    const file = path.join(tmp, 'invalid.lens.json');
    const bad = { input: { ...defaultCard([8, 8, 3]).input, height: 0 } } as ModelCard;
    assert.throws(() => writeCard(file, bad), (e: unknown) => e instanceof LensError && /input\.height/.test(e.message));
    assert.equal(fs.existsSync(file), false);
  });
});
