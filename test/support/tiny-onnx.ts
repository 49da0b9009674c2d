/**
 * A one-feature linear regression as ONNX bytes (x [N, 1] → MatMul by w → y [N, 1]), optionally with its
 * weight kept in an external data file, as exporters write large models: for tests of what reads, packs
 * and serves model files.
 */
import { onnx } from 'onnx-proto';

/** The manifest of the tiny model, its ONNX file named `tiny.onnx`: one float feature, a regression output. */
export const TINY_MANIFEST = {
  name: 'tiny',
  version: '1',
  file: 'tiny.onnx',
  inputTensor: 'x',
  input: { kind: 'tabular', features: [{ name: 'a', type: 'float' }] },
  output: { kind: 'regression', tensor: 'y' },
};

export interface TinyOnnx {
  /** The ONNX file's bytes. */
  readonly model: Uint8Array;
  /** The external data file's bytes, when the weight is kept outside. */
  readonly external?: Uint8Array;
}

/**
 * y = `weight` · x; with `externalFile`, the weight is kept in that file (a path relative to the ONNX
 * file); with `weightAsInput`, the weight is also listed as a graph input, as old exporters wrote weights.
 */
export function tinyLinearOnnx(weight: number, externalFile?: string, weightAsInput = false): TinyOnnx {
  const { TensorProto } = onnx;
  const raw = Buffer.from(new Float32Array([weight]).buffer);
  const w = externalFile
    ? {
        name: 'w',
        dataType: TensorProto.DataType.FLOAT,
        dims: [1, 1],
        dataLocation: TensorProto.DataLocation.EXTERNAL,
        externalData: [
          { key: 'location', value: externalFile },
          { key: 'offset', value: '0' },
          { key: 'length', value: String(raw.length) },
        ],
      }
    : { name: 'w', dataType: TensorProto.DataType.FLOAT, dims: [1, 1], rawData: raw };
  const tensor = (name: string) => ({
    name,
    type: { tensorType: { elemType: TensorProto.DataType.FLOAT, shape: { dim: [{ dimParam: 'N' }, { dimValue: 1 }] } } },
  });
  const model = onnx.ModelProto.encode({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name: 'tiny',
      node: [{ opType: 'MatMul', input: ['x', 'w'], output: ['y'] }],
      initializer: [w],
      input: weightAsInput
        ? [
            tensor('x'),
            {
              name: 'w',
              type: { tensorType: { elemType: TensorProto.DataType.FLOAT, shape: { dim: [{ dimValue: 1 }, { dimValue: 1 }] } } },
            },
          ]
        : [tensor('x')],
      output: [tensor('y')],
    },
  }).finish();
  return externalFile ? { model, external: raw } : { model };
}
