import { modelPackageKey, modelPrefix } from '../../contract/bucket';

describe('bucket key layout', () => {
  it("puts every version's package under the model's own prefix", () => {
    expect(modelPrefix('breast-cancer')).toBe('models/breast-cancer/');
    expect(modelPackageKey('breast-cancer', '1.0.0')).toBe('models/breast-cancer/1.0.0/model.tar.gz');
    expect(modelPackageKey('breast-cancer', '2.0.0').startsWith(modelPrefix('breast-cancer'))).toBe(true);
  });

  it('puts a deployed package under its content digest, so a retrained model never overwrites a served one', () => {
    expect(modelPackageKey('breast-cancer', '1.0.0', '0123456789abcdef')).toBe('models/breast-cancer/1.0.0/0123456789abcdef/model.tar.gz');
    expect(modelPackageKey('breast-cancer', '1.0.0', 'fedcba9876543210')).not.toBe(
      modelPackageKey('breast-cancer', '1.0.0', '0123456789abcdef'),
    );
    for (const digest of ['', 'XYZ', '../x', 'a/b'])
      expect(() => modelPackageKey('m', '1', digest)).toThrow(/8 to 64 lowercase hex digits/);
  });

  it('keeps a model prefix off other models whose names start the same', () => {
    expect(modelPackageKey('breast-cancer-v2', '1.0.0').startsWith(modelPrefix('breast-cancer'))).toBe(false);
  });

  it('refuses a name that would widen a grant on its prefix', () => {
    for (const name of ['', 'a/b', '*', 'a*', 'a?']) expect(() => modelPrefix(name)).toThrow(/one key segment without "\/", "\*" or "\?"/);
  });
});
