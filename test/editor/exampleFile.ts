// What the real-editor test expects from examples/sequence_model.py, read from the file itself so the
// example can change without the test going stale.

export interface ExampleClass {
  name: string;
  /** 1-based line of `class Name(...)`. */
  line: number;
  hasInputsPragma: boolean;
  recurrent: boolean;
  /** Attribute names assigned an nn.* layer in the class body (`self.conv1 = nn.Conv2d(...)` → conv1). */
  layerAttributes: string[];
}

export function exampleClasses(text: string): ExampleClass[] {
  const lines = text.split(/\r?\n/);
  const classes: ExampleClass[] = [];
  for (let i = 0; i < lines.length; i++) {
    const m = /^class\s+(\w+)\s*\(([^)]*)\)\s*:/.exec(lines[i]);
    if (!m || !/Module\b/.test(m[2])) continue;
    // The pragma sits directly above the class or its decorators.
    let j = i - 1;
    while (j >= 0 && /^\s*@/.test(lines[j])) j--;
    const hasInputsPragma = j >= 0 && /^\s*#\s*ane:\s*inputs\s*=/.test(lines[j]);
    let end = i + 1;
    while (end < lines.length && (lines[end].trim() === '' || /^\s/.test(lines[end]) || /^\s*#/.test(lines[end]))) end++;
    const body = lines.slice(i + 1, end).join('\n');
    const layerAttributes = [...body.matchAll(/self\.(\w+)\s*=\s*(?:torch\.)?nn\.(\w+)\s*\(/g)].map((a) => a[1]);
    classes.push({
      name: m[1],
      line: i + 1,
      hasInputsPragma,
      recurrent: /nn\.(LSTM|GRU|RNN)\b/.test(body),
      layerAttributes,
    });
  }
  return classes;
}

/** The class to run from its lens: has an inputs pragma (no input box) and no recurrent layer (it runs on the ANE). */
export function aneClass(text: string): ExampleClass | undefined {
  return exampleClasses(text).find((c) => c.hasInputsPragma && !c.recurrent && c.layerAttributes.length > 0);
}

/** The class whose recurrent layer must fall back to the CPU (ANE026) when run. */
export function recurrentClass(text: string): ExampleClass | undefined {
  return exampleClasses(text).find((c) => c.hasInputsPragma && c.recurrent);
}
