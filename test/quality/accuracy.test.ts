import type { PredictionRecord } from '../../contract/prediction-log';
import { accuracy, classifierQuality, regressionError, regressionQuality } from '../../lambda/quality/accuracy';

function record(id: string, output: { label?: string; value?: number }, feedback?: string | number): PredictionRecord {
  const createdAt = '2024-05-01T10:00:00.000Z';
  return {
    id,
    model: 'm',
    modelVersion: '1',
    createdAt,
    ...(output.label !== undefined ? { label: output.label, probabilities: {} } : { predictedValue: output.value }),
    latencyMs: 3,
    requestId: 'r',
    ...(feedback !== undefined ? { feedback: { label: feedback, givenAt: createdAt } } : {}),
  };
}

describe('classifier accuracy', () => {
  test('share of matching labels', () => {
    const q = accuracy([
      { predicted: 'a', actual: 'a' },
      { predicted: 'a', actual: 'b' },
      { predicted: 'b', actual: 'b' },
      { predicted: 'c', actual: 'c' },
    ]);
    expect(q).toMatchObject({ kind: 'classification', count: 4, accuracy: 0.75 });
    // F1 by hand: a (TP 1, predicted 2, actual 1) 2/3, b (TP 1, predicted 1, actual 2) 2/3, c 1
    expect(q.macroF1).toBeCloseTo((2 / 3 + 2 / 3 + 1) / 3, 15);
  });

  test('no feedback means no accuracy, not 0 or 1', () => {
    expect(accuracy([])).toEqual({ kind: 'classification', count: 0 });
  });

  test('from log records: only those with feedback count; the label is the logged `label`', () => {
    const q = classifierQuality([
      record('1', { label: 'benign' }, 'benign'),
      record('2', { label: 'benign' }, 'malignant'),
      record('3', { label: 'malignant' }, 'malignant'),
      record('4', { label: 'malignant' }),
    ]);
    expect(q.count).toBe(3);
    expect(q.accuracy).toBeCloseTo(2 / 3, 15);
  });
});

describe('regression error', () => {
  test('MAE and RMSE by hand: errors −1, 0, −2', () => {
    const q = regressionError([
      { predicted: 1, actual: 2 },
      { predicted: 2, actual: 2 },
      { predicted: 3, actual: 5 },
    ]);
    expect(q.count).toBe(3);
    expect(q.mae).toBeCloseTo(1, 15);
    expect(q.rmse).toBeCloseTo(Math.sqrt(5 / 3), 15);
    // Bias −1; actuals 2, 2, 5 (mean 3): R² = 1 − 5 / (1 + 1 + 4)
    expect(q.meanError).toBeCloseTo(-1, 15);
    expect(q.r2).toBeCloseTo(1 / 6, 15);
  });

  test('from log records: numeric feedback as stored, beside older text', () => {
    const q = regressionQuality([record('1', { value: 10 }, 12.5), record('2', { value: 4 }, '3')]);
    // Errors −2.5 and +1
    expect(q).toMatchObject({ kind: 'regression', count: 2, invalid: 0, mae: 1.75, meanError: -0.75 });
  });

  test('from log records: fed-back text parsed as a number, non-numbers counted apart', () => {
    const q = regressionQuality([
      record('1', { value: 10 }, '12.5'),
      record('2', { value: 4 }, ' 4 '),
      record('3', { value: 1 }, 'abc'),
      record('4', { value: 1 }, ''),
      record('5', { value: 7 }),
    ]);
    expect(q).toMatchObject({ kind: 'regression', count: 2, invalid: 2 });
    expect(q.mae).toBeCloseTo(1.25, 15);
    expect(q.rmse).toBeCloseTo(Math.sqrt(6.25 / 2), 15);
  });

  test('no feedback means no error values', () => {
    expect(regressionError([])).toEqual({ kind: 'regression', count: 0, invalid: 0 });
  });
});
