// Shared by the rule tests: analyse a snippet and pick out one rule's findings.
import type { Finding } from '../../common/findings';
import { analyzePython } from '../../server/src/python/analyzePython';

export async function findingsOf(rule: string, source: string, chip?: string): Promise<Finding[]> {
  const errors: string[] = [];
  const all = await analyzePython(source, 'test.py', { ...(chip ? { chip } : {}), onRuleError: (id, e) => errors.push(`${id}: ${String(e)}`) });
  if (errors.length > 0) throw new Error(`rules threw: ${errors.join('; ')}`);
  return all.filter((f) => f.rule === rule);
}

/** Joins lines so the tests read like the Python files they stand for. */
export function py(...lines: string[]): string {
  return `${lines.join('\n')}\n`;
}

/** A module class: `init` lines go in __init__, `forward` lines in forward(self, x). */
export function moduleSource(init: string[], forward: string[] = ['return x'], header: string[] = []): string {
  return py(
    'import torch', 'import torch.nn as nn', 'import torch.nn.functional as F', ...header,
    'class M(nn.Module):', '    def __init__(self):', '        super().__init__()', ...init.map((l) => `        ${l}`),
    '    def forward(self, x):', ...forward.map((l) => `        ${l}`),
  );
}
