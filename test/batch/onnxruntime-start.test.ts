/**
 * @jest-environment ./test/container/onnx-environment.js
 */
import * as path from 'node:path';
import { startOnnxruntime } from '../../container/src/batch/onnxruntime-start';
import { loadModel } from '../../container/src/model';

const MODEL_DIR = path.join(__dirname, '../../models/breast-cancer');

describe('startOnnxruntime', () => {
  it("finds the installed onnxruntime-node's initializer, and sessions open and predict after it", async () => {
    // GIVEN onnxruntime's environment made up front, as the batch pool does while its workers boot
    // (false here means an onnxruntime-node upgrade moved the initializer: the start-up gain is gone)
    expect(startOnnxruntime()).toBe(true);
    // WHEN a model is loaded afterwards (twice: the call is safe to repeat)
    expect(startOnnxruntime()).toBe(true);
    const model = await loadModel(MODEL_DIR);
    try {
      // THEN it answers as usual
      const [p] = await model.run([new Float32Array(model.featureCount)]);
      expect(p).toHaveProperty('label');
    } finally {
      await model.close();
    }
  });
});
