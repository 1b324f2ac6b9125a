// Help text and the usage-error type shared by the CLI commands.
import { CHIPS, DEFAULT_CHIP } from '../../../common/chips';

/** A problem with how the CLI was called or with its input: exit code 2 and one line on stderr. */
export class UsageError extends Error {}

export const EXIT_OK = 0;
export const EXIT_FINDINGS = 1;
export const EXIT_USAGE = 2;

export const HELP = `ane-lens — find what keeps a model off the Apple Neural Engine

Usage:
  ane-lens check <files or folders...> [--format text|json|sarif] [--chip ID]
               [--select IDS] [--ignore IDS]
  ane-lens run <model file | file.py:ClassName> [--backend sim] [--chip ID]
               [--format text|json] [--python PATH] [--inputs [NAME=]FILE.npy ...]
               [--save-outputs DIR]
  ane-lens inspect <model> [--chip ID] [--format text|json]
  ane-lens --help | --version

check   Analyse Python sources (*.py; folders are searched, skipping .git, node_modules,
        __pycache__ and virtual environments) and models (*.onnx, *.mlmodel, *.mlpackage,
        model.mil, *.mlmodelc); model findings are on the lines of the MIL view (see inspect).
        Exit 0 when clean (warnings and info only), 1 when any error is found.
run     Run a graph on the simulated ANE and report placement, time and fp16 numerics per layer:
        a model (.onnx, .mlpackage, .mlmodel, model.mil, .mlmodelc) or a PyTorch class, which
        needs a "# ane: inputs=(1, 3, 224, 224)" pragma above it.
        Exit 0 after a run with every layer able to use the ANE, 1 when a layer cannot.
inspect Read a model (.onnx, .mlmodel, .mlpackage, model.mil, .mlmodelc) and print its MIL view with
        per-op placement for the chip, or JSON (docs/inspect.md).

Options:
  --format text|json   output format (default text); check also takes sarif (SARIF 2.1.0)
  --select, --ignore   rule ids or prefixes, comma-separated (override [tool.ane-lens] in pyproject.toml)
  --chip ID            target chip, overrides pyproject.toml's; ${CHIPS.map((c) => c.id).join(', ')} (default ${DEFAULT_CHIP})
  --backend sim        the only backend here (coreml needs macOS)
  --python PATH        interpreter used to trace PyTorch classes (default: $ANE_LENS_PYTHON, then python3)
  --inputs FILE.npy    input values; NAME=FILE.npy binds by graph input name, bare files bind in order
                       (model files only); repeat the flag or separate files with commas
  --save-outputs DIR   write the fp16 outputs as DIR/<output name>.npy (float32 values)
  -h, --help           this text
  -v, --version        the version

Exit codes: 0 success, 1 error-severity findings or layers off the ANE, 2 usage or input error.
Docs: docs/cli.md`;
