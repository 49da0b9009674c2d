/** The hand-over policy and the version numbering of the registry, on their own. */
import { parseParameters, parseSince } from '../../cli/train/train';
import { nextVersion } from '../../container/src/training/registry';
import { DEFAULT_HAND_OVER_POLICY, type HeldOutMetrics, handOverPolicy, judgeCandidate } from '../../contract/training';

const cls = (accuracy: number, macroF1 = accuracy, rocAuc = accuracy): HeldOutMetrics => ({
  kind: 'classification',
  count: 100,
  accuracy,
  macroF1,
  rocAuc,
});
const reg = (mae: number, rmse: number, r2: number | null): HeldOutMetrics => ({ kind: 'regression', count: 100, mae, rmse, r2 });

describe('the hand-over policy', () => {
  it('hands over a classifier within the tolerance and refuses one beyond it, naming each metric', () => {
    expect(judgeCandidate(cls(0.94), cls(0.95))).toEqual({ handOver: true, reasons: [] });
    const v = judgeCandidate(cls(0.9, 0.95, 0.9), cls(0.95));
    expect(v.handOver).toBe(false);
    expect(v.reasons).toEqual([expect.stringMatching(/^accuracy 0\.9000 is below/), expect.stringMatching(/^rocAuc 0\.9000 is below/)]);
  });

  it('compares regression errors relative to the champion’s and R² absolutely', () => {
    expect(judgeCandidate(reg(41, 52, 0.45), reg(40, 50, 0.46)).handOver).toBe(true);
    expect(judgeCandidate(reg(43, 50, 0.46), reg(40, 50, 0.46)).reasons).toEqual([expect.stringMatching(/^mae 43\.0000 exceeds/)]);
    expect(judgeCandidate(reg(40, 50, null), reg(40, 50, 0.46)).reasons).toEqual([expect.stringMatching(/^R² undefined/)]);
  });

  it('refuses a decision on too few rows, and a candidate of another kind', () => {
    expect(judgeCandidate({ ...cls(1), count: 5 }, undefined).reasons).toEqual([expect.stringMatching(/only 5 held-out rows/)]);
    expect(judgeCandidate(cls(1), reg(1, 1, 1)).handOver).toBe(false);
  });

  it('takes overrides field by field and names every bad one', () => {
    expect(handOverPolicy({ accuracy: 0 })).toEqual({ ...DEFAULT_HAND_OVER_POLICY, accuracy: 0 });
    expect(() => handOverPolicy({ acuracy: 0.1, rocAuc: -1 })).toThrow(/"acuracy" is not a policy field.*"rocAuc" must be a number ≥ 0/);
  });
});

describe('run options', () => {
  it('numbers the next version after the highest registered one', () => {
    expect(nextVersion('1.0.0', [])).toBe('1.0.1');
    expect(nextVersion('1.0.0', ['1.0.1', '1.0.9', '1.0.10'])).toBe('1.0.11');
    expect(nextVersion('1.2.0', ['1.0.7'])).toBe('1.2.1');
    expect(nextVersion('v7', ['v7.1'])).toBe('v7.2');
  });

  it('reads --since and --param, and keeps --model-version to itself', () => {
    expect(parseSince('30d')).toBe(30);
    expect(() => parseSince('30')).toThrow(/30d/);
    expect(parseParameters(['hidden-units=64', 'alpha=1e-4'])).toEqual({ 'hidden-units': '64', alpha: '1e-4' });
    expect(() => parseParameters(['model-version=9'])).toThrow(/sets --model-version itself/);
    expect(() => parseParameters(['--alpha=1'])).toThrow(/name=value/);
  });
});
