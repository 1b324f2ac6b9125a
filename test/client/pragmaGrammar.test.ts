// The `# ane:` injection grammar, tokenized with vscode-textmate + oniguruma (the engine VS Code
// uses) over a minimal stand-in for the Python grammar that scopes comments and strings the same way.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as oniguruma from 'vscode-oniguruma';
import * as textmate from 'vscode-textmate';
import { ROOT } from '../helpers';

const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
const contribution = manifest.contributes.grammars.find((g: { injectTo?: string[] }) => g.injectTo?.includes('source.python'));

const pythonStandIn = {
  scopeName: 'source.python',
  patterns: [{ include: '#comment' }, { include: '#string' }, { match: '\\bclass\\b', name: 'storage.type.class.python' }],
  repository: {
    comment: { name: 'comment.line.number-sign.python', begin: '(\\#)', beginCaptures: { 1: { name: 'punctuation.definition.comment.python' } }, end: '($)' },
    string: { name: 'string.quoted.single.python', begin: "'", end: "'" },
  },
};

async function loadGrammar(): Promise<textmate.IGrammar> {
  const wasm = readFileSync(join(ROOT, 'node_modules', 'vscode-oniguruma', 'release', 'onig.wasm'));
  await oniguruma.loadWASM(wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength));
  const registry = new textmate.Registry({
    onigLib: Promise.resolve({
      createOnigScanner: (patterns: string[]) => new oniguruma.OnigScanner(patterns),
      createOnigString: (s: string) => new oniguruma.OnigString(s),
    }),
    loadGrammar: async (scopeName) => {
      if (scopeName === 'source.python') return textmate.parseRawGrammar(JSON.stringify(pythonStandIn), 'python.json');
      if (scopeName === contribution.scopeName) {
        const path = join(ROOT, contribution.path);
        return textmate.parseRawGrammar(readFileSync(path, 'utf8'), path);
      }
      return null;
    },
    getInjections: (scopeName) => (scopeName === 'source.python' ? [contribution.scopeName] : undefined),
  });
  const grammar = await registry.loadGrammar('source.python');
  assert.ok(grammar);
  return grammar;
}

/** Scopes of each token: [text, scopes joined]. */
function tokens(grammar: textmate.IGrammar, line: string): Array<[string, string]> {
  const result = grammar.tokenizeLine(line, textmate.INITIAL);
  return result.tokens.map((t) => [line.slice(t.startIndex, t.endIndex), t.scopes.join(' ')]);
}

function scopeOf(toks: Array<[string, string]>, text: string): string {
  const found = toks.find(([t]) => t === text);
  assert.ok(found, `token "${text}" in ${JSON.stringify(toks.map(([t]) => t))}`);
  return found[1];
}

test('pragma grammar: contributed as an injection into source.python', () => {
  assert.ok(contribution, 'package.json contributes a grammar injected into source.python');
  assert.equal(contribution.scopeName, 'source.python.ane-pragma');
});

test('pragma grammar: inputs, module and ignore pragmas are highlighted inside the comment', async () => {
  const grammar = await loadGrammar();
  const inputs = tokens(grammar, '    # ane: inputs=(1, 3, 224, 224), (1, 128)');
  assert.match(scopeOf(inputs, 'ane'), /comment\.line\.number-sign\.python meta\.pragma\.ane keyword\.other\.pragma\.ane/);
  assert.match(scopeOf(inputs, 'inputs'), /variable\.parameter\.pragma\.ane/);
  assert.match(scopeOf(inputs, '224'), /meta\.shape\.pragma\.ane constant\.numeric\.integer/);
  assert.match(scopeOf(inputs, '128'), /constant\.numeric/);
  assert.match(scopeOf(inputs, '('), /punctuation\.section\.shape\.begin/);
  for (const [text, scopes] of inputs.slice(1)) assert.match(scopes, /comment\.line\.number-sign\.python/, `"${text}" stays a comment`);

  const module = tokens(grammar, '# ane: module=models.Net; inputs=[1,16]');
  assert.match(scopeOf(module, 'models.Net'), /entity\.name\.type\.class\.pragma\.ane/);
  assert.match(scopeOf(module, '16'), /constant\.numeric/);

  const ignore = tokens(grammar, 'x = nn.LSTM(4, 8)  # ane: ignore[ANE026, ANE021]');
  assert.match(scopeOf(ignore, 'ignore'), /keyword\.control\.ignore\.pragma\.ane/);
  assert.match(scopeOf(ignore, 'ANE026'), /constant\.language\.rule-id\.pragma\.ane/);
  assert.match(scopeOf(ignore, 'ANE021'), /constant\.language\.rule-id/);

  const bad = tokens(grammar, '# ane: inputs=(1, N, 8)');
  assert.match(scopeOf(bad, 'N'), /invalid\.illegal\.dimension/);
});

test('pragma grammar: ordinary comments and strings are left alone', async () => {
  const grammar = await loadGrammar();
  for (const line of ['# planes: 3, inputs=(1, 2)', '# the ane: docs say', "s = '# ane: inputs=(1, 2)'"]) {
    for (const [text, scopes] of tokens(grammar, line)) assert.doesNotMatch(scopes, /pragma\.ane/, `"${text}" in ${line}`);
  }
  const plain = tokens(grammar, '# just a comment');
  assert.equal(plain.at(-1)?.[1], 'source.python comment.line.number-sign.python');
});
