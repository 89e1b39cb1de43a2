import { findRequirements } from '../../src/cli/scanner';

describe('findRequirements', () => {
  describe('in code', () => {
    test.each([
      ['res.requireAssets(\'a.js\', "b.less", `c.css`);', ['a.js', 'b.less', 'c.css']],
      ["res.requireAssets(['a.js', 'b.js'], 'c.js')", ['a.js', 'b.js', 'c.js']],
      ["res.locals.requireAsset('a.js')", ['a.js']],
      ["app.get('/', assets.needs('a.js', 'b.js'), handler)", ['a.js', 'b.js']],
      ["requireAssets(\n  'a.js',\n  'b.js',\n)", ['a.js', 'b.js']],
      ["requireAsset('it\\'s.js')", ["it's.js"]],
    ])('%s', (text, names) => {
      expect(findRequirements(text)).toEqual([{ line: 1, names }]);
    });

    test('the line is where the call starts', () => {
      expect(findRequirements("router.get('/', site\n  .needs(\n'a.js'), handler)")).toEqual([
        { line: 2, names: ['a.js'] },
      ]);
    });

    test('names that are not string literals are not checked, with the call as written', () => {
      expect(
        findRequirements(
          "res.requireAssets(name);\nres.requireAssets('a.js', `${x}.js`, 'b' + c, ...more);",
        ),
      ).toEqual([
        { line: 1, names: [], dynamic: 'requireAssets(name)' },
        {
          line: 2,
          names: ['a.js'],
          dynamic: "requireAssets('a.js', `${x}.js`, 'b' + c, ...more)",
        },
      ]);
    });

    test('a call inside the arguments, or parentheses in a name, do not end the call early', () => {
      expect(findRequirements("requireAssets(pick('a.js'), 'x(1).js')")).toEqual([
        { line: 1, names: ['x(1).js'], dynamic: "requireAssets(pick('a.js'), 'x(1).js')" },
      ]);
    });

    test('declarations, other names and uncalled references are not requirements', () => {
      const text = [
        'function requireAsset(name) {}',
        "myrequireAssets('a.js'); requireAssetsNow('b.js'); needs('c.js');",
        'const helper = res.locals.requireAsset;',
      ].join('\n');
      expect(findRequirements(text)).toEqual([]);
    });
  });

  describe('in templates', () => {
    test.each([
      ['{% requireAsset "a.js", \'b.less\' %}', ['a.js', 'b.less']],
      ['{%- requireAsset "a.js" -%}', ['a.js']],
      ['<% requireAsset "a.js" %>', ['a.js']],
      ["<% requireAsset('a.js') %>", ['a.js']],
      ["<%- requireAsset('a.js') %>", ['a.js']],
      ["- requireAsset('a.js')", ['a.js']],
      ["#{requireAsset('a.js')}", ['a.js']],
      ['{% requireAsset "100%}.js" %}', ['100%}.js']],
    ])('%s', (text, names) => {
      expect(findRequirements(text)).toEqual([{ line: 1, names }]);
    });

    test('a variable in the tag is not checked; lines count from 1', () => {
      expect(findRequirements('<p>\n\n{% requireAsset page.script %}')).toEqual([
        { line: 3, names: [], dynamic: '{% requireAsset page.script %}' },
      ]);
    });

    test('other tags are not requirements', () => {
      expect(findRequirements('{% assets "js" %}{% requireAssetx "a.js" %}')).toEqual([]);
    });
  });
});
