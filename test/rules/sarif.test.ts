// SARIF 2.1.0 output checked against the required properties and enums of the OASIS schema
// (sarif-schema-2.1.0.json): sarifLog{version,runs}, run{tool}, tool{driver}, toolComponent{name},
// reportingDescriptor{id}, result{message}, message{text|id}, region integers >= 1, level enum.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { analyzePython } from '../../server/src/python/analyzePython';
import { RULES } from '../../server/src/python/rules/index';
import { toSarif } from '../../server/src/cli/sarif';

test('SARIF log has the required fields, rule metadata with help links, and valid results', async () => {
  const src = 'import torch.nn as nn\nimport coremltools as ct\nr = nn.LSTM(4, 8)\nm = ct.convert(t, compute_units=ct.ComputeUnit.CPU_ONLY)\n';
  const findings = await analyzePython(src, '/work/proj/src/model.py');
  findings.push({ file: '/elsewhere/m.onnx', line: 1, column: 1, endLine: 1, endColumn: 1, rule: 'ANE024', severity: 'warning', message: 'gather on CPU' });
  findings.push({ file: '/elsewhere/m.onnx', line: 1, column: 1, endLine: 1, endColumn: 1, rule: 'ANE999', severity: 'info', message: 'placement note' });
  const log = JSON.parse(JSON.stringify(toSarif(findings, '0.1.0', '/work/proj')));
  assert.equal(log.version, '2.1.0');
  assert.match(log.$schema, /sarif-2\.1\.0/);
  assert.equal(log.runs.length, 1);
  const run = log.runs[0];
  const driver = run.tool.driver;
  assert.equal(driver.name, 'ANE Lens');
  assert.equal(driver.version, '0.1.0');
  assert.ok(URL.canParse(driver.informationUri));
  assert.ok(driver.rules.length >= RULES.length);
  for (const r of driver.rules) {
    assert.equal(typeof r.id, 'string');
    assert.ok(r.shortDescription.text.length > 0 && r.fullDescription.text.length > 0, r.id);
    assert.ok(URL.canParse(r.helpUri), r.id);
    assert.ok(['error', 'warning', 'note', 'none'].includes(r.defaultConfiguration.level), r.id);
  }
  assert.match(driver.rules.find((r: { id: string }) => r.id === 'ANE026').helpUri, /docs\/rules\/ANE026\.md$/);
  assert.equal(run.results.length, findings.length);
  for (const [i, res] of run.results.entries()) {
    assert.equal(driver.rules[res.ruleIndex].id, res.ruleId, 'ruleIndex points at the rule');
    assert.ok(['error', 'warning', 'note', 'none'].includes(res.level));
    assert.equal(typeof res.message.text, 'string');
    const loc = res.locations[0].physicalLocation;
    assert.equal(typeof loc.artifactLocation.uri, 'string');
    for (const k of ['startLine', 'startColumn', 'endLine', 'endColumn']) assert.ok(Number.isInteger(loc.region[k]) && loc.region[k] >= 1, k);
    assert.equal(loc.region.startLine, findings[i]!.line);
  }
  const lstm = run.results.find((r: { ruleId: string }) => r.ruleId === 'ANE026');
  assert.deepEqual(lstm.locations[0].physicalLocation.artifactLocation, { uri: 'src/model.py', uriBaseId: '%SRCROOT%' });
  assert.equal(lstm.level, 'error');
  assert.equal(run.results.find((r: { ruleId: string }) => r.ruleId === 'ANE999').level, 'note');
  assert.match(run.results.find((r: { ruleId: string }) => r.ruleId === 'ANE024').locations[0].physicalLocation.artifactLocation.uri, /^file:\/\/\/elsewhere\/m\.onnx$/);
  assert.ok(run.originalUriBaseIds['%SRCROOT%'].uri.endsWith('/work/proj/'));
});
