/** The versions' rules shared by the predict function, the local system and the CLI. */
import { randomUUID } from 'node:crypto';
import {
  initialRoutingState,
  parseChallengerSetting,
  parseRoutingState,
  promoted,
  rolledBack,
  routeRequest,
  splitBucket,
} from '../../contract/versions';

const now = new Date('2026-12-07T10:00:00Z');

describe('splitBucket', () => {
  it('is the same for the same key, and spreads keys evenly over 0..99', () => {
    expect(splitBucket('req-1')).toBe(splitBucket('req-1'));
    const tenths = new Array(10).fill(0);
    for (let i = 0; i < 20_000; i++) tenths[Math.floor(splitBucket(randomUUID()) / 10)]++;
    // 2,000 expected in each tenth; sd ≈ 42: five deviations either side.
    for (const n of tenths) expect(Math.abs(n - 2000)).toBeLessThan(215);
  });
});

describe('routeRequest', () => {
  it('shadow: the champion answers, the challenger shadows; rolled back: neither', () => {
    const shadow = initialRoutingState('1', { version: '2', mode: 'shadow' }, now, 'test');
    expect(routeRequest(shadow, 'k')).toEqual({ answer: '1', shadow: '2' });
    expect(routeRequest(rolledBack(shadow, 'cli', now), 'k')).toEqual({ answer: '1' });
  });

  it('split: the key decides, by its bucket', () => {
    const split = initialRoutingState('1', { version: '2', mode: 'split', percent: 25 }, now, 'test');
    for (const key of ['a', 'b', 'c', 'd', 'e', 'f']) expect(routeRequest(split, key).answer).toBe(splitBucket(key) < 25 ? '2' : '1');
  });

  it('promote swaps the roles and gives the former champion no traffic', () => {
    const split = initialRoutingState('1', { version: '2', mode: 'split', percent: 25 }, now, 'test');
    expect(promoted(split, 'cli', now)).toMatchObject({ champion: '2', challenger: '1', percent: 0, updatedBy: 'cli' });
    expect(() => promoted(initialRoutingState('1', undefined, now, 'test'), 'cli', now)).toThrow('There is no challenger to promote.');
  });
});

describe('parsing', () => {
  it('names what is wrong with a stored state or a setting', () => {
    expect(() => parseRoutingState('{', 'item')).toThrow('item is not JSON');
    expect(() =>
      parseRoutingState(
        JSON.stringify({ champion: '1', challenger: '1', mode: 'split', percent: 5, updatedAt: '', updatedBy: '' }),
        'item',
      ),
    ).toThrow('item: the challenger and the champion are both 1');
    expect(parseChallengerSetting('none')).toBeUndefined();
    expect(parseChallengerSetting('{"version":"2","mode":"split","percent":5}')).toEqual({ version: '2', mode: 'split', percent: 5 });
    expect(() => parseChallengerSetting('{"version":"2","mode":"split","percent":70}')).toThrow(/percent/);
  });
});
