import { defined } from './defined';

describe('defined', () => {
  it('returns a present value, falsy ones included', () => {
    expect(defined(0, 'a count')).toBe(0);
    expect(defined('', 'a name')).toBe('');
    expect(defined(false, 'a flag')).toBe(false);
  });

  it('fails naming what was missing', () => {
    expect(() => defined(undefined, 'the first page')).toThrow('Expected the first page to be defined, got undefined');
    expect(() => defined(null, 'the record')).toThrow('Expected the record to be defined, got null');
  });
});
