// The language server re-runs the rules only on the block an edit touched (AnalysisCache). These tests hold
// that to the one standard that matters: after any sequence of edits, the incremental result equals a fresh
// analysis of the same text — findings, messages, quick fixes and run targets — including edits that break the syntax,
// add lines, or change file-wide facts (imports, class headers, module-level constants).
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { AnalysisCache, analyzePythonDocument, initPythonParser, type PythonAnalysis } from '../../server/src/python/analyzePython';
import { widenEdit } from '../../server/src/python/treeEdits';
import { parsePython, type EditedTrees } from '../../server/src/python/parser';
import { pointAt, ROOT, rng } from '../helpers';
import { moduleSource, py } from './analyze';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { Edit } = require('web-tree-sitter') as typeof import('web-tree-sitter');


const comparable = (a: PythonAnalysis) => ({
  targets: JSON.stringify(a.targets),
  findings: a.findings.map((f) => `${f.line}:${f.column}-${f.endLine}:${f.endColumn} ${f.rule} ${f.severity} ${f.message}`),
  fixes: a.fixes.map((x) => `${x.finding.line}:${x.finding.rule} ${x.range.line}:${x.range.column}-${x.range.endLine}:${x.range.endColumn} ${x.title} => ${x.newText}`),
});

/** An editor session, as the language server runs one: every edit goes through tree.edit (exact and widened, as the server does it), the incremental parse and the block cache. */
class Session {
  private trees: EditedTrees | undefined;
  readonly cache = new AnalysisCache();
  constructor(public text: string) {}

  async analyse(): Promise<PythonAnalysis> {
    const result = await analyzePythonDocument(this.text, 'edited.py', { cache: this.cache, keepTree: true, runTargets: true, ...(this.trees ? { oldTree: this.trees } : {}) });
    this.dispose();
    this.trees = { exact: result.tree!, wide: result.tree!.copy() };
    delete result.tree;
    return result;
  }

  edit(start: number, end: number, insert: string): void {
    const before = this.text;
    this.text = this.text.slice(0, start) + insert + this.text.slice(end);
    const edit = { startIndex: start, oldEndIndex: end, newEndIndex: start + insert.length, startPosition: pointAt(before, start), oldEndPosition: pointAt(before, end), newEndPosition: pointAt(this.text, start + insert.length) };
    this.trees?.exact.edit(new Edit(edit));
    this.trees?.wide.edit(new Edit(widenEdit(before, edit)));
  }

  dispose(): void {
    this.trees?.exact.delete();
    this.trees?.wide.delete();
    this.trees = undefined;
  }
}

async function fresh(text: string): Promise<PythonAnalysis> {
  return analyzePythonDocument(text, 'edited.py', { runTargets: true });
}

// What people type: identifiers, brackets, colons, newlines, indentation, comments, digits, quotes.
const INSERTS = ['x', ' ', '(', ')', ':', '\n', '\n    ', '#', '1', '"', '= ', 'nn.Linear(8, 8)', 'import torch.nn as tnn\n', '.float()'];

async function randomSession(source: string, seed: number, edits: number): Promise<void> {
  const next = rng(seed);
  const session = new Session(source);
  try {
    await session.analyse();
    for (let i = 0; i < edits; i++) {
      const at = Math.floor(next() * (session.text.length + 1));
      const kind = next();
      const description = `seed ${seed}, edit ${i} at ${at}`;
      if (kind < 0.6) {
        session.edit(at, at, INSERTS[Math.floor(next() * INSERTS.length)]!);
      } else {
        session.edit(at, Math.min(session.text.length, at + 1 + Math.floor(next() * 3)), '');
      }
      const incremental = await session.analyse();
      assert.deepEqual(comparable(incremental), comparable(await fresh(session.text)), description);
    }
  } finally {
    session.dispose();
  }
}

function corpus(): Array<{ name: string; text: string }> {
  const files = [join(ROOT, 'examples', 'sequence_model.py'), join(ROOT, 'examples', 'convert_script.py'),
    join(ROOT, 'test', 'fixtures', 'pytorch', 'blocks.py'), join(ROOT, 'test', 'fixtures', 'python', 'ane_transformer_block.py')];
  const tv = '/usr/lib/python3/dist-packages/torchvision/models';
  for (const name of ['swin_transformer.py', 'vision_transformer.py', 'detection/transform.py']) {
    if (existsSync(join(tv, name))) files.push(join(tv, name));
  }
  return files.map((f) => ({ name: f.slice(f.lastIndexOf('/') + 1), text: readFileSync(f, 'utf8') }));
}

test('random edits: the incremental analysis equals a fresh analysis of the same text', async () => {
  await initPythonParser();
  let seed = 1;
  for (const { text } of corpus()) await randomSession(text, seed++, 12);
});

test('an edit inside one class re-runs the rules on that block only, and finds the new problem', async () => {
  const blocks = Array.from({ length: 30 }, (_, i) => [
    `class Net${i}(nn.Module):`, '    def __init__(self):', '        super().__init__()', '        self.conv = nn.Conv2d(8, 16, 3)',
    '    def forward(self, x):', '        y = self.conv(x)', '        return y', '',
  ].join('\n')).join('\n');
  const session = new Session(py('import torch', 'import torch.nn as nn', '') + blocks);
  try {
    const first = await session.analyse();
    assert.equal(session.cache.lastAnalysed, session.cache.lastBlockCount, 'the first analysis runs every block');
    assert.ok(session.cache.lastBlockCount > 30);
    // Type `.float()` after `self.conv(x)` in Net7's forward: one block changes, and ANE002 appears there.
    const at = session.text.indexOf('y = self.conv(x)', session.text.indexOf('class Net7(')) + 'y = self.conv(x)'.length;
    session.edit(at, at, '.float()');
    const second = await session.analyse();
    assert.equal(session.cache.lastAnalysed, 1);
    assert.deepEqual(second.findings.filter((f) => !first.findings.some((g) => g.message === f.message && g.line === f.line)).map((f) => f.rule), ['ANE002']);
    assert.deepEqual(comparable(second), comparable(await fresh(session.text)));
    // Undo: every block is found in the cache again.
    session.edit(at, at + '.float()'.length, '');
    const third = await session.analyse();
    assert.equal(session.cache.lastAnalysed, 0);
    assert.deepEqual(comparable(third), comparable(first));
    // Enter in Net7: the 22 classes below move down a line and keep their results, shifted.
    session.edit(at, at, '\n        ');
    const fourth = await session.analyse();
    assert.equal(session.cache.lastAnalysed, 1);
    assert.deepEqual(comparable(fourth), comparable(await fresh(session.text)));
    assert.equal(fourth.targets.classes.at(-1)!.line, first.targets.classes.at(-1)!.line + 1);
  } finally {
    session.dispose();
  }
});

test('a line added in another block updates the line a message quotes, without re-running the quoting block', async () => {
  // examples/sequence_model.py: FeedForward (above) is a sequence module because SequenceEncoder (below) builds it;
  // ANE021's messages in FeedForward quote that line of SequenceEncoder.
  const session = new Session(readFileSync(join(ROOT, 'examples', 'sequence_model.py'), 'utf8'));
  try {
    const quoted = (a: PythonAnalysis) => a.findings.filter((f) => f.rule === 'ANE021' && f.message.includes('used by sequence module')).map((f) => f.message);
    const before = quoted(await session.analyse());
    assert.ok(before.length > 0 && before.every((m) => m.includes('line 31)')), before.join('\n'));
    const at = session.text.indexOf('        self.blocks = nn.ModuleList');
    session.edit(at, at, '        # a comment line\n');
    const after = await session.analyse();
    assert.equal(session.cache.lastAnalysed, 1, 'only SequenceEncoder is analysed again');
    assert.ok(quoted(after).every((m) => m.includes('line 32)')), quoted(after).join('\n'));
    assert.deepEqual(comparable(after), comparable(await fresh(session.text)));
  } finally {
    session.dispose();
  }
});

test('file-wide facts reach every block: an import alias, a module class base, a module-level constant', async () => {
  await initPythonParser();
  // ANE026 via an alias defined in the import block; ANE005 via a module-level EPS; a subclass of a local module class.
  const source = py(
    'import torch', 'import torch.nn as nn', 'EPS = 1e-5', '',
    'class Base(nn.Module):', '    pass', '',
    'class Net(Base):', '    def __init__(self):', '        super().__init__()', '        self.norm = nn.LayerNorm(8, eps=EPS)',
    '        self.rnn = nn.GRU(8, 8)', '',
  );
  const session = new Session(source);
  try {
    const rules = async () => (await session.analyse()).findings.map((f) => f.rule).sort();
    assert.deepEqual(await rules(), ['ANE026']);
    // A module-level constant in another block changes: Net's LayerNorm now has an fp16-unsafe eps.
    const eps = session.text.indexOf('1e-5');
    session.edit(eps, eps + 4, '1e-12');
    assert.deepEqual(await rules(), ['ANE005', 'ANE026']);
    // The alias the class uses disappears: nothing in Net resolves to torch any more.
    const imp = session.text.indexOf('import torch.nn as nn');
    session.edit(imp, imp + 'import torch.nn as nn'.length, 'import torch.nn as tnn');
    assert.deepEqual(await rules(), []);
    assert.deepEqual(comparable(await session.analyse()), comparable(await fresh(session.text)));
  } finally {
    session.dispose();
  }
});

test('a name is looked up in the scope Python would use, not in another function', async () => {
  // `mode` is a parameter of forward: the `mode = "bicubic"` in an unrelated function must not be used,
  // while a module-level constant is.
  const other = py('def helper():', '    mode = "bicubic"', '    return mode', '');
  const shadowed = moduleSource([], ['return F.interpolate(x, scale_factor=2, mode=mode)'], [other]).replace('def forward(self, x):', 'def forward(self, x, mode):');
  assert.deepEqual((await fresh(shadowed)).findings.filter((f) => f.rule === 'ANE035'), []);
  const moduleLevel = moduleSource([], ['return F.interpolate(x, scale_factor=2, mode=MODE)'], ['MODE = "bicubic"']);
  assert.deepEqual((await fresh(moduleLevel)).findings.filter((f) => f.rule === 'ANE035').length, 1);
});

test('the block split keeps a pragma with its class and statements that share a line together', async () => {
  const { splitBlocks } = await import('../../server/src/python/blocks');
  const parser = await initPythonParser();
  const text = py('import torch; import torch.nn as nn', '', '# ane: inputs=(1, 8)', 'class A(nn.Module):', '    pass', 'x = 1');
  const tree = parser.parse(text)!;
  try {
    const blocks = splitBlocks(tree.rootNode, text);
    assert.deepEqual(blocks.map((b) => b.startRow), [0, 2, 5]);
    assert.ok(blocks[1]!.key.startsWith('# ane: inputs=(1, 8)\nclass A'));
    assert.equal(blocks.map((b) => text.slice(b.startIndex, b.endIndex)).join(''), text, 'blocks partition the text');
  } finally {
    tree.delete();
  }
});

test('every model source in the corpus gives the same findings incrementally after an edit in its middle', { skip: existsSync('/usr/lib/python3/dist-packages/torchvision/models') ? false : 'skipped: python3-torchvision sources not installed' }, async () => {
  const dir = '/usr/lib/python3/dist-packages/torchvision/models';
  const files = readdirSync(dir).filter((f) => f.endsWith('.py')).slice(0, 8);
  for (const f of files) {
    const text = readFileSync(join(dir, f), 'utf8');
    const session = new Session(text);
    try {
      await session.analyse();
      const mid = text.indexOf('\n', Math.floor(text.length / 2));
      session.edit(mid, mid, '  # edited');
      assert.deepEqual(comparable(await session.analyse()), comparable(await fresh(session.text)), f);
    } finally {
      session.dispose();
    }
  }
});

test('an incremental parse reads the text in short slices and builds the tree a fresh parse builds, also around surrogate pairs', async () => {
  const parser = await initPythonParser();
  // Emoji (two UTF-16 units each) at every alignment, so some slice boundary falls between a pair's halves.
  const lines: string[] = [];
  for (let i = 0; i < 400; i++) lines.push(i % 3 === 0 ? `s${i} = "${'🙂'.repeat(i % 7)}${'a'.repeat(i % 5)}"  # ${'é'.repeat(i % 4)}` : `def f${i}(x):\n    return x * ${i}`);
  let text = lines.join('\n') + '\n';
  let tree = parsePython(parser, text);
  const next = rng(11);
  try {
    for (let i = 0; i < 40; i++) {
      const at = Math.floor(next() * text.length);
      // Insert at a character boundary: never between the halves of a pair.
      const start = text.charCodeAt(at) >= 0xdc00 && text.charCodeAt(at) <= 0xdfff ? at + 1 : at;
      const insert = i % 2 ? '🙂' : '(';
      const startPosition = pointAt(text, start);
      text = text.slice(0, start) + insert + text.slice(start);
      tree.edit(new Edit({ startIndex: start, oldEndIndex: start, newEndIndex: start + insert.length, startPosition, oldEndPosition: startPosition, newEndPosition: pointAt(text, start + insert.length) }));
      const incremental = parsePython(parser, text, tree);
      tree.delete();
      tree = incremental;
      const full = parsePython(parser, text);
      try {
        assert.equal(incremental.rootNode.toString(), full.rootNode.toString(), `edit ${i} at ${start}`);
        assert.equal(incremental.rootNode.endIndex, text.length);
      } finally {
        full.delete();
      }
    }
  } finally {
    tree.delete();
  }
});
