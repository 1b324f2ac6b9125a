// Shared by the rule tests: analyse a snippet and pick out one rule's findings.
import type { Finding } from '../../common/findings';
import { analyzePython } from '../../server/src/python/analyzePython';

export async function findingsOf(rule: string, source: string): Promise<Finding[]> {
  const errors: string[] = [];
  const all = await analyzePython(source, 'test.py', { onRuleError: (id, e) => errors.push(`${id}: ${String(e)}`) });
  if (errors.length > 0) throw new Error(`rules threw: ${errors.join('; ')}`);
  return all.filter((f) => f.rule === rule);
}

/** Joins lines so the tests read like the Python files they stand for. */
export function py(...lines: string[]): string {
  return `${lines.join('\n')}\n`;
}
