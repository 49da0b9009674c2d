/**
 * Jest's node environment runs tests in a separate realm and passes in only ArrayBuffer and Uint8Array
 * from the outer one. onnxruntime-node creates its output Float32Arrays in the outer realm, and
 * onnxruntime-common then checks them with `instanceof` against the test realm's Float32Array and
 * throws. Sharing the outer realm's typed-array constructors makes both sides agree.
 * Use it with a `@jest-environment ./test/container/onnx-environment.js` docblock.
 */
const { TestEnvironment } = require('jest-environment-node');

const TYPED_ARRAYS = [
  'Int8Array',
  'Uint8ClampedArray',
  'Int16Array',
  'Uint16Array',
  'Int32Array',
  'Uint32Array',
  'Float32Array',
  'Float64Array',
  'BigInt64Array',
  'BigUint64Array',
];

class OnnxEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    for (const name of TYPED_ARRAYS) this.global[name] = globalThis[name];
  }
}

module.exports = OnnxEnvironment;
