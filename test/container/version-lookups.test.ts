/**
 * What a model server remembers of versions it does not host (container/src/version-lookups.ts): refusals
 * expire and are bounded (least recently named forgotten first), and lookups of new versions are
 * rate-limited by a budget that refills with time. The clock is passed in, so time is exact.
 */
import { NOT_REGISTERED_TTL_MS, VersionLookups } from '../../container/src/version-lookups';

function clock() {
  let t = 1_000_000;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describe('refusals', () => {
  it('answers a refusal from memory until it expires', () => {
    // GIVEN a refused version
    const c = clock();
    const lookups = new VersionLookups({ now: c.now });
    const error = new Error('not registered');
    lookups.refuse('9.0.0', error);
    // THEN it is remembered just short of the TTL, and forgotten at it
    c.advance(NOT_REGISTERED_TTL_MS - 1);
    expect(lookups.refusal('9.0.0')).toBe(error);
    c.advance(1);
    expect(lookups.refusal('9.0.0')).toBeUndefined();
    expect(lookups.refusedCount).toBe(0);
  });

  it('holds at most maxRefused, forgetting the least recently named first', () => {
    // GIVEN room for three refusals, and 9.0.0 named again after the others
    const lookups = new VersionLookups({ maxRefused: 3 });
    for (const v of ['9.0.0', '9.0.1', '9.0.2']) lookups.refuse(v, new Error(v));
    expect(lookups.refusal('9.0.0')).toBeDefined();
    // WHEN a fourth and a fifth are refused
    lookups.refuse('9.0.3', new Error('9.0.3'));
    lookups.refuse('9.0.4', new Error('9.0.4'));
    // THEN the two least recently named are gone, the rest kept
    expect(lookups.refusedCount).toBe(3);
    expect(lookups.refusal('9.0.1')).toBeUndefined();
    expect(lookups.refusal('9.0.2')).toBeUndefined();
    for (const v of ['9.0.0', '9.0.3', '9.0.4']) expect(lookups.refusal(v)).toBeDefined();
  });

  it('forgets a refusal of a version that loaded after all', () => {
    const lookups = new VersionLookups();
    lookups.refuse('9.0.0', new Error('failed once'));
    lookups.forget('9.0.0');
    expect(lookups.refusal('9.0.0')).toBeUndefined();
  });
});

describe('lookup budget', () => {
  it('allows a burst, then one lookup per refill interval, never more than the burst', () => {
    // GIVEN a budget of 3 refilling one every second
    const c = clock();
    const lookups = new VersionLookups({ burst: 3, refillMs: 1000, now: c.now });
    // THEN the burst is spent at once and the next is refused
    expect([1, 2, 3, 4].map(() => lookups.allowLookup())).toEqual([true, true, true, false]);
    // AND a second later exactly one more is allowed
    c.advance(999);
    expect(lookups.allowLookup()).toBe(false);
    c.advance(1);
    expect([lookups.allowLookup(), lookups.allowLookup()]).toEqual([true, false]);
    // AND a long quiet period refills up to the burst only
    c.advance(60_000);
    expect([1, 2, 3, 4].map(() => lookups.allowLookup())).toEqual([true, true, true, false]);
  });

  it('keeps a partly earned interval across refills', () => {
    const c = clock();
    const lookups = new VersionLookups({ burst: 2, refillMs: 1000, now: c.now });
    expect([lookups.allowLookup(), lookups.allowLookup()]).toEqual([true, true]);
    c.advance(1500);
    expect([lookups.allowLookup(), lookups.allowLookup()]).toEqual([true, false]);
    // Half an interval was left over: 500 ms more earns the next one, not 1000
    c.advance(500);
    expect([lookups.allowLookup(), lookups.allowLookup()]).toEqual([true, false]);
  });
});
