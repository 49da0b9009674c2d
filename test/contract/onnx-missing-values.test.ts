/**
 * Which graph input columns a graph takes missing: followed back from an Imputer replacing NaN and from
 * tree branches that route missing values, through Cast, Gather, ArrayFeatureExtractor and Concat.
 */
import { onnx } from 'onnx-proto';
import { readOnnx } from '../../contract/onnx-graph';

const { TensorProto, AttributeProto } = onnx;
const FLOAT = TensorProto.DataType.FLOAT;
const int = (name: string, i: number) => ({ name, type: AttributeProto.AttributeType.INT, i });
const ints = (name: string, values: number[]) => ({ name, type: AttributeProto.AttributeType.INTS, ints: values });
const floats = (name: string, values: number[]) => ({ name, type: AttributeProto.AttributeType.FLOATS, floats: values });
const float = (name: string, f: number) => ({ name, type: AttributeProto.AttributeType.FLOAT, f });
const strings = (name: string, values: string[]) => ({
  name,
  type: AttributeProto.AttributeType.STRINGS,
  strings: values.map((v) => Buffer.from(v)),
});
const indices = (name: string, values: number[]) => ({
  name,
  dataType: TensorProto.DataType.INT64,
  dims: [values.length],
  int64Data: values,
});
const tensor = (name: string, width: number) => ({
  name,
  type: { tensorType: { elemType: FLOAT, shape: { dim: [{ dimParam: 'N' }, { dimValue: width }] } } },
});

/**
 * Inputs a [N,1], b [N,1], c [N,3]. Imputer(NaN) on Concat(Cast(a), column 2 of c); Imputer(replaced 0) on b;
 * a tree ensemble on Concat(b, ArrayFeatureExtractor(c, [0, 1])) routing missing values on its
 * features 0 (b) and 2 (c's column 1), and not on feature 1 (c's column 0).
 */
function graph(): Uint8Array {
  const tree = {
    opType: 'TreeEnsembleRegressor',
    domain: 'ai.onnx.ml',
    input: ['tree_in'],
    output: ['value'],
    attribute: [
      ints('nodes_treeids', [0, 0, 0, 0, 0, 0, 0]),
      ints('nodes_nodeids', [0, 1, 2, 3, 4, 5, 6]),
      ints('nodes_featureids', [0, 1, 2, 0, 0, 0, 0]),
      strings('nodes_modes', ['BRANCH_LEQ', 'BRANCH_LEQ', 'BRANCH_LEQ', 'LEAF', 'LEAF', 'LEAF', 'LEAF']),
      floats('nodes_values', [0, 0, 0, 0, 0, 0, 0]),
      ints('nodes_truenodeids', [1, 3, 5, 0, 0, 0, 0]),
      ints('nodes_falsenodeids', [2, 4, 6, 0, 0, 0, 0]),
      // The leaves' 1 is never read (a leaf routes nothing).
      ints('nodes_missing_value_tracks_true', [1, 0, 1, 1, 1, 1, 1]),
      ints('target_treeids', [0, 0, 0, 0]),
      ints('target_nodeids', [3, 4, 5, 6]),
      ints('target_ids', [0, 0, 0, 0]),
      floats('target_weights', [1, 2, 3, 4]),
    ],
  };
  return onnx.ModelProto.encode({
    irVersion: 8,
    opsetImport: [
      { domain: '', version: 13 },
      { domain: 'ai.onnx.ml', version: 1 },
    ],
    graph: {
      name: 'missing-values',
      node: [
        { opType: 'Cast', input: ['a'], output: ['a_f'], attribute: [int('to', FLOAT)] },
        { opType: 'Gather', input: ['c', 'two'], output: ['c2'], attribute: [int('axis', 1)] },
        { opType: 'Concat', input: ['a_f', 'c2'], output: ['ac'], attribute: [int('axis', 1)] },
        {
          opType: 'Imputer',
          domain: 'ai.onnx.ml',
          input: ['ac'],
          output: ['ac_filled'],
          attribute: [floats('imputed_value_floats', [1, 2]), float('replaced_value_float', Number.NaN)],
        },
        {
          opType: 'Imputer',
          domain: 'ai.onnx.ml',
          input: ['b'],
          output: ['b_filled'],
          attribute: [floats('imputed_value_floats', [1]), float('replaced_value_float', 0)],
        },
        { opType: 'ArrayFeatureExtractor', domain: 'ai.onnx.ml', input: ['c', 'first_two'], output: ['c01'] },
        { opType: 'Concat', input: ['b', 'c01'], output: ['tree_in'], attribute: [int('axis', 1)] },
        tree,
      ],
      initializer: [indices('two', [2]), indices('first_two', [0, 1])],
      input: [tensor('a', 1), tensor('b', 1), tensor('c', 3)],
      output: [tensor('value', 1), tensor('ac_filled', 2), tensor('b_filled', 1)],
    },
  }).finish();
}

test('columns an Imputer replaces NaN in, and features trees route missing values on, are found through the graph', () => {
  expect(readOnnx(graph()).signature.missingValues).toEqual([
    { input: 'a', column: 0, by: 'Imputer' },
    { input: 'b', column: 0, by: 'TreeEnsembleRegressor' },
    { input: 'c', column: 1, by: 'TreeEnsembleRegressor' },
    { input: 'c', column: 2, by: 'Imputer' },
  ]);
});
