#!/usr/bin/env python3
"""Trace an nn.Module class from a user's file into ANE Lens Graph IR (schemaVersion 1).

    python ane_trace.py --file model.py --class Net --inputs '[[1,3,224,224]]' --out-dir DIR

writes DIR/graph.json (Graph IR, ops in the MIL vocabulary) and DIR/weights.bin (constants as fp32).
On failure prints one line "ANE_TRACE_ERROR: <message>" to stderr and exits with status 3, so the caller can
show the message as is. Python 3.9+, torch >= 1.13.

torch.fx is tried first (it keeps module structure, so layers map back to the `self.x = nn.X(...)` lines);
torch.jit.trace is the fallback (it records whatever ran, so it copes with Python the fx tracer cannot follow,
at the cost of a coarser mapping).
"""
import argparse
import ast
import contextlib
import importlib.util
import inspect
import json
import math
import operator
import os
import struct
import sys
import textwrap
import traceback
import warnings

ERROR_PREFIX = 'ANE_TRACE_ERROR: '


class TraceFailure(Exception):
    """An error whose message is meant for the user as is."""


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--file', required=True)
    parser.add_argument('--class', dest='class_name', required=True)
    parser.add_argument('--inputs', required=True, help='JSON list of shapes, one per forward() argument')
    parser.add_argument('--out-dir', required=True)
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args()
    try:
        shapes = json.loads(args.inputs)
        if not isinstance(shapes, list) or not all(
                isinstance(s, list) and all(isinstance(d, int) and d > 0 for d in s) for s in shapes):
            raise TraceFailure('--inputs must be a JSON list of shapes of positive integers, e.g. [[1,3,224,224]]')
        graph, blob = trace_file(os.path.abspath(args.file), args.class_name, shapes, args.seed)
        os.makedirs(args.out_dir, exist_ok=True)
        with open(os.path.join(args.out_dir, 'weights.bin'), 'wb') as f:
            f.write(blob)
        with open(os.path.join(args.out_dir, 'graph.json'), 'w') as f:
            json.dump(graph, f)
    except TraceFailure as e:
        sys.stderr.write(ERROR_PREFIX + one_line(str(e)) + '\n')
        sys.exit(3)
    except Exception as e:  # a bug in this helper: say so, with where it happened
        tb = traceback.extract_tb(e.__traceback__)
        where = f' (ane_trace.py line {tb[-1].lineno})' if tb else ''
        sys.stderr.write(ERROR_PREFIX + one_line(f'internal error in the tracer{where}: {type(e).__name__}: {e}') + '\n')
        traceback.print_exc()
        sys.exit(3)


def one_line(text):
    return ' '.join(str(text).split())


# ---------------------------------------------------------------------------------------------------------
# Loading the user's module

def import_torch():
    try:
        import torch  # noqa: F401
        import torch.fx  # noqa: F401
    except Exception as e:
        raise TraceFailure(f'cannot import torch with {sys.executable}: {type(e).__name__}: {e}')
    import torch
    return torch


def user_frame_text(exc, user_file):
    """'file.py:23' for the innermost traceback frame inside the user's file, or None."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if os.path.abspath(f.filename) == user_file]
    if not frames:
        return None
    f = frames[-1]
    return f'{os.path.basename(user_file)}:{f.lineno}', f


def load_class(path, class_name):
    if not os.path.isfile(path):
        raise TraceFailure(f'{path}: no such file')
    torch = import_torch()
    directory = os.path.dirname(path)
    if directory not in sys.path:
        sys.path.insert(0, directory)
    module_name = '_ane_lens_user_' + ''.join(c if c.isalnum() else '_' for c in os.path.splitext(os.path.basename(path))[0])
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except SyntaxError as e:
        raise TraceFailure(f'{os.path.basename(path)}:{e.lineno}: syntax error: {e.msg}')
    except BaseException as e:
        where = user_frame_text(e, path)
        at = f'{where[0]}: ' if where else f'{os.path.basename(path)}: '
        raise TraceFailure(f'{at}importing the file failed: {type(e).__name__}: {e}')
    cls = getattr(module, class_name, None)
    if cls is None:
        raise TraceFailure(f'{os.path.basename(path)} defines no class {class_name}')
    if not (inspect.isclass(cls) and issubclass(cls, torch.nn.Module)):
        raise TraceFailure(f'{class_name} in {os.path.basename(path)} is not an nn.Module subclass')
    return torch, cls


def instantiate(cls, path):
    try:
        sig = inspect.signature(cls.__init__)
        required = [p.name for p in list(sig.parameters.values())[1:]
                    if p.default is inspect.Parameter.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    except (TypeError, ValueError):
        required = []
    if required:
        line = class_line(cls)
        raise TraceFailure(f'{os.path.basename(path)}:{line}: {cls.__name__}.__init__ needs arguments ({", ".join(required)}); '
                           f'ANE Lens creates the module with no arguments, so give them default values')
    try:
        model = cls()
    except BaseException as e:
        where = user_frame_text(e, path)
        at = f'{where[0]}: ' if where else ''
        raise TraceFailure(f'{at}{cls.__name__}() failed: {type(e).__name__}: {e}')
    return fold_weight_norm(model.eval())


def fold_weight_norm(model):
    """Weight normalization (nn.utils.weight_norm) recomputes a weight from g and v on every call, through a
    hook that torch.jit.trace cannot follow; at inference the weight is fixed, so fold it in (as a Core ML
    conversion does). The module computes exactly what it did."""
    import torch
    for module in model.modules():
        for hook in list(getattr(module, '_forward_pre_hooks', {}).values()):
            if type(hook).__name__ == 'WeightNorm':
                try:
                    torch.nn.utils.remove_weight_norm(module, hook.name)
                except (ValueError, AttributeError):
                    pass  # traced as it is; a failure names the module then
    return model


def class_line(cls):
    try:
        return inspect.getsourcelines(cls)[1]
    except (OSError, TypeError):
        return 1


# ---------------------------------------------------------------------------------------------------------
# Source lines of submodule assignments (`self.conv = nn.Conv2d(...)` in __init__)

_init_cache = {}


def init_assignments(cls):
    """{attr: (file, line, ast value)} for `self.attr = ...` in cls.__init__ (first assignment wins), or {}."""
    if cls in _init_cache:
        return _init_cache[cls]
    result = {}
    try:
        init = cls.__dict__.get('__init__')
        if init is not None:
            file = os.path.abspath(inspect.getsourcefile(init))
            lines, start = inspect.getsourcelines(init)
            tree = ast.parse(textwrap.dedent(''.join(lines)))
            for node in ast.walk(tree):
                targets = []
                if isinstance(node, ast.Assign):
                    targets = node.targets
                elif isinstance(node, ast.AnnAssign):
                    targets = [node.target]
                for t in targets:
                    if isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name) and t.value.id == 'self':
                        if t.attr not in result:
                            result[t.attr] = (file, node.lineno + start - 1, node.value, start - 1)
    except (OSError, TypeError, SyntaxError):
        result = {}
    _init_cache[cls] = result
    return result


def is_user_class(cls, torch_dir):
    try:
        f = inspect.getsourcefile(cls)
    except TypeError:
        return False
    return f is not None and not os.path.abspath(f).startswith(torch_dir)


def module_source(root, path, torch_dir):
    """Source location of the assignment that created submodule `path` ("block.conv", "features.0")."""
    parts = path.split('.')
    best = None
    owner = root
    for i, attr in enumerate(parts):
        cls = type(owner)
        if is_user_class(cls, torch_dir):
            found = init_assignments(cls).get(attr)
            if found:
                file, line, value, offset = found
                rest = parts[i + 1:]
                # nn.Sequential(a, b, c) written inline: point at the element, not the whole call.
                if rest and rest[0].isdigit() and isinstance(value, ast.Call) and call_name(value).endswith('Sequential'):
                    k = int(rest[0])
                    if k < len(value.args) and not any(isinstance(a, ast.Starred) for a in value.args[:k + 1]):
                        line = value.args[k].lineno + offset
                best = {'file': file, 'line': line}
        # A level with no assignment (built in a loop, add_module...) keeps the enclosing assignment's line.
        owner = getattr(owner, attr, None)
        if owner is None:
            break
    return best


def call_name(call):
    f = call.func
    names = []
    while isinstance(f, ast.Attribute):
        names.append(f.attr)
        f = f.value
    if isinstance(f, ast.Name):
        names.append(f.id)
    return '.'.join(reversed(names))


def stack_source(stack_trace, torch_dir):
    """The innermost frame of an fx stack trace that is not torch's own code."""
    if not stack_trace:
        return None
    import re
    best = None
    for m in re.finditer(r'File "([^"]+)", line (\d+)', stack_trace):
        file = os.path.abspath(m.group(1))
        if file.startswith(torch_dir) or file == os.path.abspath(__file__):
            continue
        best = {'file': file, 'line': int(m.group(2))}
    return best


# ---------------------------------------------------------------------------------------------------------
# Elementwise ops by their PyTorch name (torch.X, Tensor.X and aten::X; in-place X_ too) and their MIL op. Both
# tracer paths map from these, so fx and the jit fallback agree.

UNARY_OPS = {'relu': 'relu', 'sigmoid': 'sigmoid', 'tanh': 'tanh', 'exp': 'exp', 'sqrt': 'sqrt', 'rsqrt': 'rsqrt',
             'abs': 'abs', 'log': 'log', 'erf': 'erf', 'silu': 'silu', 'floor': 'floor', 'ceil': 'ceil', 'round': 'round',
             'sign': 'sign', 'sin': 'sin', 'cos': 'cos', 'tan': 'tan', 'asin': 'asin', 'acos': 'acos', 'atan': 'atan',
             'sinh': 'sinh', 'cosh': 'cosh', 'asinh': 'asinh', 'acosh': 'acosh', 'atanh': 'atanh', 'square': 'square',
             'logical_not': 'logical_not'}
BINARY_OPS = {'add': 'add', 'sub': 'sub', 'mul': 'mul', 'div': 'real_div', 'true_divide': 'real_div', 'pow': 'pow',
              'maximum': 'maximum', 'minimum': 'minimum', 'floor_divide': 'floor_div', 'remainder': 'mod',
              'gt': 'greater', 'lt': 'less', 'ge': 'greater_equal', 'le': 'less_equal', 'eq': 'equal', 'ne': 'not_equal',
              'greater': 'greater', 'less': 'less', 'greater_equal': 'greater_equal', 'less_equal': 'less_equal',
              'not_equal': 'not_equal', 'logical_and': 'logical_and', 'logical_or': 'logical_or', 'logical_xor': 'logical_xor'}
# Python operators (fx records `x > 0` as operator.gt) with the name of the torch op they call.
OPERATOR_OPS = {'add': 'add', 'sub': 'sub', 'mul': 'mul', 'truediv': 'div', 'pow': 'pow', 'floordiv': 'floor_divide',
                'mod': 'remainder', 'gt': 'gt', 'lt': 'lt', 'ge': 'ge', 'le': 'le', 'eq': 'eq', 'ne': 'ne'}
# &, |, ^ and ~ are logical on bool tensors (masks); on integers they are bitwise, which MIL has no op for.
BOOL_OPS = {'and_': 'logical_and', 'or_': 'logical_or', 'xor': 'logical_xor', 'bitwise_and': 'logical_and',
            'bitwise_or': 'logical_or', 'bitwise_xor': 'logical_xor', '__and__': 'logical_and', '__or__': 'logical_or',
            '__xor__': 'logical_xor', 'invert': 'logical_not', 'bitwise_not': 'logical_not'}


def numel(shape):
    n = 1
    for d in shape:
        n *= d
    return n


def bool_op(name):
    """The logical MIL op of a BOOL_OPS name, also in its in-place form (x.bitwise_and_(m)); None for others."""
    if name in BOOL_OPS:
        return BOOL_OPS[name]
    return BOOL_OPS.get(name[:-1]) if name.endswith('_') and not name.endswith('__') else None


def division_op(rounding_mode):
    """The MIL op of torch.div with this rounding_mode; 'trunc' has none (an error keeps the op visible as unknown)."""
    if rounding_mode in (None, 'true'):
        return 'real_div'
    if rounding_mode == 'floor':
        return 'floor_div'
    raise ValueError(f'div with rounding_mode={rounding_mode!r} has no MIL op')


# ---------------------------------------------------------------------------------------------------------
# IR builder shared by the fx and jit paths

DTYPES = {}


def ir_dtype(torch, dt):
    if not DTYPES:
        DTYPES.update({torch.float32: 'fp32', torch.float16: 'fp16', torch.float64: 'fp64', torch.int64: 'int64',
                       torch.int32: 'int32', torch.int16: 'int16', torch.int8: 'int8', torch.uint8: 'uint8',
                       torch.bool: 'bool'})
    return DTYPES.get(dt, 'unknown')


class Builder:
    def __init__(self, torch, name, file):
        self.torch = torch
        self.name = name
        self.file = file
        self.inputs = []
        self.outputs = []
        self.constants = []
        self.ops = []
        self.warnings = []
        self.blob = bytearray()
        self.used_names = set()
        self.const_cache = {}

    def unique(self, base):
        base = base.replace('/', '_') or 'v'
        name = base
        k = 1
        while name in self.used_names:
            name = f'{base}_{k}'
            k += 1
        self.used_names.add(name)
        return name

    def constant(self, value, base='const'):
        """Add a constant (tensor or Python number/list) as fp32 bytes; returns its value name."""
        torch = self.torch
        if isinstance(value, torch.Tensor):
            t = value.detach().to(torch.float32).contiguous().cpu()
            key = (t.data_ptr(), tuple(t.shape), t.dtype) if t.numel() > 16 else None
            dtype = ir_dtype(torch, value.dtype)
        else:
            t = torch.tensor(value, dtype=torch.float32)
            key = None
            dtype = 'fp32'
        if key is not None and key in self.const_cache:
            return self.const_cache[key]
        name = self.unique(base)
        count = t.numel()
        flat = t.reshape(-1).tolist() if count <= 16 else None
        offset = len(self.blob)
        self.blob += tensor_bytes(t)
        # Integer-typed constants are stored as fp32 bytes too (the blob is documented as fp32), so the
        # declared dtype is fp32; small ones also travel inline for analysis.
        decl = {'name': name, 'type': {'dtype': 'fp32', 'shape': list(t.shape)},
                'data': {'offset': offset, 'byteLength': 4 * count}}
        if flat is not None and all(math.isfinite(v) for v in flat):
            decl['value'] = flat
        if dtype not in ('fp32', 'fp16', 'fp64'):
            decl['type']['dtype'] = 'fp32'
        self.constants.append(decl)
        if key is not None:
            self.const_cache[key] = name
        return name

    def add_op(self, name, op, original, inputs, out_types, attrs=None, source=None):
        """out_types: list of (base name, tensor) or (base, (dtype, shape)); returns output value names."""
        torch = self.torch
        op_name = self.unique(name)
        outs = []
        names = []
        for i, (base, t) in enumerate(out_types):
            vname = op_name if i == 0 and base is None else self.unique(base or f'{op_name}_{i}')
            if isinstance(t, torch.Tensor):
                ttype = {'dtype': ir_dtype(torch, t.dtype), 'shape': list(t.shape)}
            else:
                ttype = {'dtype': t[0], 'shape': list(t[1])}
            outs.append({'name': vname, 'type': ttype})
            names.append(vname)
        node = {'name': op_name, 'op': op, 'originalOp': original, 'inputs': inputs, 'outputs': outs,
                'attrs': attrs or {}}
        if source:
            node['source'] = source
        self.ops.append(node)
        return names

    def prune(self):
        """Drop ops none of whose outputs is used (e.g. attention weights unpacked into `_`)."""
        while True:
            used = set(self.outputs)
            for o in self.ops:
                used.update(o['inputs'])
            keep = [o for o in self.ops if any(out['name'] in used for out in o['outputs'])]
            if len(keep) == len(self.ops):
                break
            self.ops = keep
        self.constants = [c for c in self.constants if c['name'] in used]

    def to_json(self):
        self.prune()
        return {'schemaVersion': 1, 'name': self.name, 'format': 'pytorch', 'file': self.file,
                'inputs': self.inputs, 'outputs': self.outputs, 'constants': self.constants, 'ops': self.ops,
                'warnings': self.warnings}


# ---------------------------------------------------------------------------------------------------------
# torch.fx path

def trace_file(path, class_name, shapes, seed):
    torch, cls = load_class(path, class_name)
    # Seeded before construction so the default-initialized weights are reproducible (tests compare with
    # PyTorch by building the module under the same seed).
    torch.manual_seed(seed)
    model = instantiate(cls, path)
    torch_dir = os.path.dirname(os.path.abspath(torch.__file__))
    try:
        graph, blob, opaque = trace_fx(torch, model, cls, path, shapes, seed, torch_dir)
        if not opaque:
            return graph, blob
        # Wrapped functions whose bodies fx cannot trace (shape-dependent branches, as in torchvision's Swin):
        # jit records their ops for these input shapes, which is what a converter sees too.
        try:
            jit_graph, jit_blob = trace_jit(torch, model, cls, path, shapes, seed, torch_dir)
        except Exception:
            return graph, blob
        if unknown_ops(jit_graph) >= unknown_ops(graph):
            return graph, blob
        jit_graph['warnings'].insert(0, f'torch.fx keeps {", ".join(opaque)} as one opaque call (torch.fx.wrap) and cannot '
                                        f'trace into it; used torch.jit.trace instead, which records only the path taken '
                                        f'for the random example inputs')
        return jit_graph, jit_blob
    except TraceFailure:
        raise
    except Exception as fx_error:
        fx_reason = describe_failure(fx_error, path, cls, 'torch.fx')
        try:
            graph, blob = trace_jit(torch, model, cls, path, shapes, seed, torch_dir)
        except TraceFailure as jit_failure:
            raise TraceFailure(f'{fx_reason}; torch.jit.trace also failed: {jit_failure}')
        except Exception as jit_error:
            raise TraceFailure(f'{fx_reason}; torch.jit.trace also failed: {describe_failure(jit_error, path, cls, "torch.jit")}')
        graph['warnings'].insert(0, f'{fx_reason}; used torch.jit.trace instead, which records only the path taken '
                                    f'for the random example inputs')
        return graph, blob


def _proxy_iter(self):
    # torch 1.13 finds the unpacking instruction with `f_lasti // 2`, which is wrong on Python 3.11 (inline
    # caches), so `a, (b, c) = self.lstm(x)` failed to trace. Match the instruction by its byte offset instead.
    import dis
    frame = inspect.currentframe().f_back
    for inst in dis.get_instructions(frame.f_code):
        if inst.offset == frame.f_lasti:
            if inst.opname == 'UNPACK_SEQUENCE':
                return (self[i] for i in range(inst.argval))
            break
    return self.tracer.iter(self)


def tensor_bytes(t):
    """Little-endian fp32 bytes of a contiguous float32 CPU tensor (numpy when present: 100x faster)."""
    try:
        return t.numpy().astype('<f4', copy=False).tobytes()
    except Exception:
        flat = t.reshape(-1).tolist()
        return struct.pack(f'<{len(flat)}f', *flat)


def describe_failure(exc, path, cls, tracer):
    text = one_line(f'{type(exc).__name__}: {exc}')
    if 'symbolically traced variables cannot be used as inputs to control flow' in text or 'Proxy object cannot be iterated' in text:
        kind = 'data-dependent control flow cannot be traced'
    else:
        kind = f'{tracer} cannot trace it'
    where = user_frame_text(exc, path)
    if where:
        frame = where[1]
        return f'{cls.__name__}.{frame.name} line {frame.lineno} ({os.path.basename(path)}:{frame.lineno}): {kind}: {text}'
    return f'{cls.__name__} ({os.path.basename(path)}): {kind}: {text}'


def bind_inputs(model, cls, shapes):
    """Check the shapes against forward()'s parameters; those beyond the shapes keep their defaults."""
    try:
        params = list(inspect.signature(model.forward).parameters.values())
    except (TypeError, ValueError):
        return {}
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    variadic = any(p.kind == p.VAR_POSITIONAL for p in params)
    required = [p for p in positional if p.default is inspect.Parameter.empty]
    if len(shapes) < len(required) or (len(shapes) > len(positional) and not variadic):
        names = ', '.join(p.name for p in positional)
        count = str(len(positional)) if len(required) == len(positional) else f'{len(required)} to {len(positional)}'
        raise TraceFailure(f'{cls.__name__}.forward takes {count} input(s) ({names}) but {len(shapes)} shape(s) were given')
    return {p.name: p.default for p in positional[len(shapes):]}


def example_inputs(torch, shapes, int_inputs, seed):
    g = torch.Generator().manual_seed(seed)
    out = []
    for i, s in enumerate(shapes):
        if i in int_inputs:
            out.append(torch.randint(0, int_inputs[i], s, generator=g))
        else:
            out.append(torch.randn(*s, generator=g))
    return out


def fx_wrap_registry():
    """torch.fx's record of torch.fx.wrap calls: a list of (globals, name) in torch 1.x, a dict in 2.x; None if neither."""
    import torch.fx._symbolic_trace as st
    registry = getattr(st, '_wrapped_fns_to_patch', None)
    return registry if isinstance(registry, (list, dict)) else None


@contextlib.contextmanager
def fx_wraps_lifted():
    """
    Functions registered with torch.fx.wrap are traced into rather than kept as one opaque call: torchvision's
    Swin wraps its whole window attention (`shifted_window_attention`) and patch merging, which as leaves
    became unknown ops and left everything after them unexecuted. Their bodies are ordinary tensor code.
    """
    registry = fx_wrap_registry()
    if registry is None:
        yield
        return
    saved = registry.copy()
    registry.clear()
    try:
        yield
    finally:
        registry.clear()
        registry.extend(saved) if isinstance(registry, list) else registry.update(saved)


def wrapped_functions():
    """The functions registered with torch.fx.wrap (fx keeps each call to them as one opaque node)."""
    registry = fx_wrap_registry()
    entries = registry if isinstance(registry, list) else [(g, key[1]) for key, g in (registry or {}).items()]
    found = []
    for g, name in entries:
        fn = g.get(name)
        if fn is not None:
            found.append(fn)
    return found


def trace_fx(torch, model, cls, path, shapes, seed, torch_dir):
    """The IR graph and weights from torch.fx, and the wrapped (opaque) functions left as unknown ops."""
    import torch.fx
    from torch.fx.passes.shape_prop import ShapeProp

    class Tracer(torch.fx.Tracer):
        def __init__(self):
            super().__init__()
            self.record_stack_traces = True

    defaults = bind_inputs(model, cls, shapes)
    tracer = Tracer()
    original_iter = torch.fx.proxy.Proxy.__iter__
    torch.fx.proxy.Proxy.__iter__ = _proxy_iter
    try:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            try:
                with fx_wraps_lifted():
                    fx_graph = tracer.trace(model, concrete_args=defaults or None)
            except Exception:
                # The body of a wrapped function did not trace symbolically: keep it as one call.
                tracer = Tracer()
                fx_graph = tracer.trace(model, concrete_args=defaults or None)
    finally:
        torch.fx.proxy.Proxy.__iter__ = original_iter
    gm = torch.fx.GraphModule(model, fx_graph, cls.__name__)
    # Parameters left at their defaults are placeholders with a default value: constants, not inputs.
    all_placeholders = [n for n in gm.graph.nodes if n.op == 'placeholder']
    placeholders = all_placeholders[:len(shapes)]
    specialized = all_placeholders[len(shapes):]

    # Inputs feeding an embedding are indices: random floats would make the example run fail.
    int_inputs = {}
    modules = dict(gm.named_modules())
    for i, ph in enumerate(placeholders):
        for user in ph.users:
            if user.op == 'call_module' and isinstance(modules.get(user.target), torch.nn.Embedding):
                int_inputs[i] = modules[user.target].num_embeddings
            elif user.op == 'call_function' and user.target is torch.nn.functional.embedding:
                int_inputs[i] = 2
    inputs = example_inputs(torch, shapes, int_inputs, seed)

    values = {}

    class Recorder(ShapeProp):
        def run_node(self, n):
            result = super().run_node(n)
            values[n] = result
            return result

    try:
        with torch.no_grad():
            Recorder(gm).propagate(*inputs)
    except Exception as e:
        # Re-run the original module so the traceback points into the user's file.
        try:
            with torch.no_grad():
                model(*inputs)
        except Exception as e2:
            raise TraceFailure(describe_failure(e2, path, cls, 'the forward pass'))
        raise TraceFailure(f'{cls.__name__}: running the traced graph failed: {one_line(e)}')

    b = Builder(torch, cls.__name__, path)
    conv = FxConverter(torch, b, gm, model, values, path, torch_dir)
    for i, ph in enumerate(placeholders):
        name = b.unique(ph.name)
        b.inputs.append({'name': name, 'type': {'dtype': 'int64' if i in int_inputs else 'fp32', 'shape': list(shapes[i])}})
        conv.env[ph] = name
    for ph in specialized:
        conv.env[ph] = Value(ph.args[0] if ph.args else None)
    for node in gm.graph.nodes:
        if node.op in ('placeholder',):
            continue
        if node.op == 'output':
            b.outputs = [v for v in flatten(conv.resolve(node.args[0])) if isinstance(v, str)]
            continue
        conv.convert(node)
    if not b.outputs:
        raise TraceFailure(f'{cls.__name__}.forward returns no tensor that depends on its inputs')
    wrapped = wrapped_functions()
    opaque = sorted({conv.original(n) for n in gm.graph.nodes if n.op == 'call_function' and any(n.target is f for f in wrapped)})
    graph = b.to_json()
    opaque = [name for name in opaque if any(o['op'] == 'unknown' and o['originalOp'] == name for o in graph['ops'])]
    return graph, bytes(b.blob), opaque


def unknown_ops(graph):
    return sum(1 for o in graph['ops'] if o['op'] == 'unknown')


def flatten(v):
    if isinstance(v, (list, tuple)):
        for x in v:
            yield from flatten(x)
    elif isinstance(v, dict):
        for x in v.values():
            yield from flatten(x)
    else:
        yield v


def decompose_group_norm(b, name, orig, src, x_name, shape, groups, eps, weight, bias, p):
    """Emits all but the last op of a group norm; returns the last one as (op, inputs, attrs)."""
    n, c = shape[0], shape[1]
    rest = 1
    for d in shape[1:]:
        rest *= d
    rest //= groups
    grouped = b.add_op(f'{name}_groups', 'reshape', orig, [x_name], [(None, ('fp32', [n, groups, rest]))], {'shape': [n, groups, rest]}, src)[0]
    normed = b.add_op(f'{name}_norm', 'instance_norm', orig, [grouped], [(None, ('fp32', [n, groups, rest]))], {'epsilon': float(eps)}, src)[0]
    if weight is None and bias is None:
        return 'reshape', [normed], {'shape': shape}
    y = b.add_op(f'{name}_ungroup', 'reshape', orig, [normed], [(None, ('fp32', shape))], {'shape': shape}, src)[0]
    per_channel = [1, c] + [1] * (len(shape) - 2)
    if weight is not None and bias is not None:
        y = b.add_op(f'{name}_scale', 'mul', orig, [y, b.constant(weight.detach().reshape(per_channel), f'{p}.weight')], [(None, ('fp32', shape))], {}, src)[0]
        return 'add', [y, b.constant(bias.detach().reshape(per_channel), f'{p}.bias')], {}
    if weight is not None:
        return 'mul', [y, b.constant(weight.detach().reshape(per_channel), f'{p}.weight')], {}
    return 'add', [y, b.constant(bias.detach().reshape(per_channel), f'{p}.bias')], {}


def glu_ops(b, name, orig, src, x_name, shape, axis):
    """Emits a GLU's split and sigmoid; returns the final mul as (op, inputs, attrs)."""
    half = list(shape)
    half[axis] //= 2
    a, g = b.add_op(f'{name}_halves', 'split', orig, [x_name], [(None, ('fp32', half)), (f'{name}_gate_in', ('fp32', half))],
                    {'axis': axis, 'split_sizes': [half[axis], half[axis]]}, src)
    gate = b.add_op(f'{name}_gate', 'sigmoid', orig, [g], [(None, ('fp32', half))], {}, src)[0]
    return 'mul', [a, gate], {}


def pad_attrs(rank, pads, mode, value):
    """The IR's pad attributes from torch's pad list, whose (begin, end) pairs start from the LAST axis."""
    per_axis = [0] * (2 * rank)
    for i in range(len(pads) // 2):
        axis = rank - 1 - i
        per_axis[2 * axis], per_axis[2 * axis + 1] = int(pads[2 * i]), int(pads[2 * i + 1])
    return {'pad': per_axis, 'mode': mode, 'constant_val': float(value or 0.0)}


def roll_ops(b, name, orig, src, x_name, shape, shifts, dims):
    """
    Emits all but the last op of torch.roll; returns the last as (op, inputs, attrs). A cyclic shift is the
    tail and the head of each rolled axis swapped (two slices and a concat), which is how it is exported
    and converted; ANE036 is about the copies this costs. Without dims the flattened tensor is rolled.
    """
    shifts = list(shifts) if isinstance(shifts, (list, tuple)) else [shifts]
    if dims is None or (isinstance(dims, (list, tuple)) and not dims):
        count = 1
        for d in shape:
            count *= d
        flat = b.add_op(f'{name}_flat', 'reshape', orig, [x_name], [(None, ('fp32', [count]))], {'shape': [count]}, src)[0]
        rolled = emit_roll(b, name, orig, src, flat, [count], [(shifts[0], 0)])
        return 'reshape', [rolled], {'shape': list(shape)}
    dims = list(dims) if isinstance(dims, (list, tuple)) else [dims]
    pairs = [(s, d + len(shape) if d < 0 else d) for s, d in zip(shifts, dims)]
    *head, last = pairs
    y = emit_roll(b, name, orig, src, x_name, shape, head) if head else x_name
    return roll_axis(b, name, orig, src, y, shape, *last)


def emit_roll(b, name, orig, src, x_name, shape, pairs):
    y = x_name
    for k, (shift, axis) in enumerate(pairs):
        op, ins, attrs = roll_axis(b, f'{name}_{k}', orig, src, y, shape, shift, axis)
        y = b.add_op(f'{name}_{k}', op, orig, ins, [(None, ('fp32', list(shape)))], attrs, src)[0]
    return y


def roll_axis(b, name, orig, src, x_name, shape, shift, axis):
    n = shape[axis]
    cut = n - int(shift) % n if n else 0
    if cut in (0, n):
        return 'reshape', [x_name], {'shape': list(shape)}
    parts = []
    for part, (lo, hi) in (('tail', (cut, n)), ('head', (0, cut))):
        begin, end = [0] * len(shape), list(shape)
        begin[axis], end[axis] = lo, hi
        piece = list(shape)
        piece[axis] = hi - lo
        parts.append(b.add_op(f'{name}_{part}', 'slice_by_index', orig, [x_name], [(None, ('fp32', piece))],
                              {'begin': begin, 'end': end, 'stride': [1] * len(shape)}, src)[0])
    return 'concat', parts, {'axis': axis}


def tile_ops(b, name, orig, src, x_name, shape, target):
    """
    Emits all but the last op of x broadcast to `target` (expand, expand_as; -1 keeps a size); returns the last.
    MIL has no broadcast-to: a reshape to the target's rank when it is higher, then a tile with the repetitions.
    """
    if len(target) > len(shape):
        shape = [1] * (len(target) - len(shape)) + list(shape)
        x_name = b.add_op(f'{name}_rank', 'reshape', orig, [x_name], [(None, ('fp32', shape))], {'shape': shape}, src)[0]
    reps = [1 if t == -1 or d == t else int(t) // d for d, t in zip(shape, target)]
    return 'tile', [x_name], {'reps': reps}


def norm_op(p):
    """The MIL reduction of a p-norm, or None (only p = 1 and p = 2 have one)."""
    if p is None or p == 'fro' or (isinstance(p, (int, float)) and float(p) == 2.0):
        return 'reduce_l2_norm'
    if isinstance(p, (int, float)) and float(p) == 1.0:
        return 'reduce_l1_norm'
    return None


def normalize_ops(b, name, orig, src, x_name, shape, p, axis, eps):
    """Emits all but the last op of F.normalize; returns the last. x / max(‖x‖_p, eps) along the axis."""
    op = norm_op(p)
    if op is None:
        raise ValueError(f'a {p}-norm has no MIL reduction')
    reduced = list(shape)
    reduced[axis] = 1
    n = b.add_op(f'{name}_norm', op, orig, [x_name], [(None, ('fp32', reduced))], {'axes': [axis], 'keep_dims': True}, src)[0]
    n = b.add_op(f'{name}_eps', 'clip', orig, [n], [(None, ('fp32', reduced))], {'alpha': float(eps), 'beta': 3.4e38}, src)[0]
    return 'real_div', [x_name, n], {}


def additive_attention_mask(torch, key_padding_mask, attn_mask, n, heads, lq, lk):
    """nn.MultiheadAttention's masks as one tensor added to the (n, heads, lq, lk) scores, or None: boolean masks
    are -inf where True; float masks are added as they are."""
    def additive(mask):
        return torch.zeros(mask.shape).masked_fill(mask, float('-inf')) if mask.dtype == torch.bool else mask.float()
    total = None
    if key_padding_mask is not None:
        total = additive(key_padding_mask).reshape(n, 1, 1, lk)
    if attn_mask is not None:
        a = additive(attn_mask)
        a = a.reshape(1, 1, lq, lk) if a.dim() == 2 else a.reshape(n, heads, lq, lk)
        total = a if total is None else total + a
    return None if total is None else total.detach()


class Value:
    """A non-tensor Python value computed at trace time (shape, int, dtype...): folded, never emitted."""

    def __init__(self, v):
        self.v = v


class FxConverter:
    def __init__(self, torch, builder, gm, model, values, path, torch_dir):
        self.torch = torch
        self.model = model
        self.b = builder
        self.gm = gm
        self.values = values
        self.path = path
        self.torch_dir = torch_dir
        self.env = {}  # node -> value name | nested list/tuple of names | Value
        self.modules = dict(gm.named_modules())
        import torch.nn.functional as F
        self.F = F

    # -- helpers ----------------------------------------------------------------------------------------
    def resolve(self, a):
        """IR view of an fx argument: value names for tensors, Python values for everything else."""
        import torch.fx
        if isinstance(a, torch.fx.Node):
            r = self.env.get(a)
            if isinstance(r, Value):
                return r.v
            return r
        if isinstance(a, (list, tuple)):
            return type(a)(self.resolve(x) for x in a)
        if isinstance(a, dict):
            return {k: self.resolve(v) for k, v in a.items()}
        return a

    def tensor_in(self, a, base='const'):
        """A value name for an argument that should be a tensor (constants are materialized)."""
        r = self.resolve(a)
        if isinstance(r, str):
            return r
        if isinstance(r, self.torch.Tensor):
            return self.b.constant(r, base)
        if isinstance(r, (int, float, bool)):
            return self.b.constant(float(r), base)
        raise ValueError(f'expected a tensor, got {type(r).__name__}')

    def is_dynamic(self, node):
        import torch.fx
        found = []

        def visit(a):
            if isinstance(a, torch.fx.Node):
                r = self.env.get(a)
                if r is not None and not isinstance(r, Value):
                    found.append(a)
            return a
        torch.fx.node.map_arg((node.args, node.kwargs), visit)
        return bool(found)

    def source(self, node):
        if node.op == 'call_module':
            return module_source(self.model, node.target, self.torch_dir) or stack_source(node.stack_trace, self.torch_dir)
        return stack_source(getattr(node, 'stack_trace', None), self.torch_dir)

    def emit(self, node, op, inputs, attrs=None, original=None, out=None):
        result = self.values[node]
        if out is None:
            out = result
        outs = list(out) if isinstance(out, (list, tuple)) else [out]
        types = [(None if i == 0 else f'{node.name}_{i}', t) for i, t in enumerate(outs)]
        names = self.b.add_op(node.name, op, original or self.original(node), inputs, types, attrs or {}, self.source(node))
        return names

    def original(self, node):
        t = node.target
        if node.op == 'call_module':
            m = self.modules[t]
            mod = type(m).__module__
            return ('nn.' if mod.startswith('torch.nn') else '') + type(m).__name__
        if node.op == 'call_method':
            return f'Tensor.{t}'
        mod = getattr(t, '__module__', None) or ''
        name = getattr(t, '__name__', str(t))
        if mod == '_operator' or mod == 'operator':
            return f'operator.{name}'
        if mod.startswith('torch.nn.functional'):
            return f'F.{name}'
        if mod == 'torch' or (mod.startswith('torch.') and not mod.startswith('torch.nn.')) or mod.startswith('torch._C'):
            return f'torch.{name}'
        return f'{mod}.{name}' if mod else name

    # -- dispatch -------------------------------------------------------------------------------------
    def convert(self, node):
        torch = self.torch
        result = self.values.get(node)
        if node.op == 'get_attr':
            # Parameters and buffers read in forward: materialized as constants where a tensor is consumed.
            self.env[node] = Value(result)
            return
        dynamic = self.is_dynamic(node)
        if not dynamic or not contains_tensor(torch, result):
            # Shape arithmetic, x.size(), constants computed from parameters: fold to the value seen at
            # trace time (shapes are static in the IR).
            self.env[node] = Value(result)
            return
        try:
            r = self.convert_dynamic(node)
        except Exception as e:  # never crash on an op we map badly: keep it visible as unknown
            self.b.warnings.append(f'{node.name} ({self.original(node)}): could not map to MIL ({one_line(e)}); kept as unknown')
            r = None
        if r is None:
            r = self.passthrough(node)
        if r is None:
            r = self.unknown(node)
        self.env[node] = r

    def passthrough(self, node):
        """An unmapped call that returned one of its inputs unchanged (eval-mode stochastic depth, a no-op
        cast...) is folded away; in-place calls also return their input, but modified, so they are not."""
        import torch.fx
        result = self.values.get(node)
        name = getattr(node.target, '__name__', str(node.target))
        if not isinstance(result, self.torch.Tensor) or node.kwargs.get('inplace') or name.endswith('_'):
            return None
        for a in node.all_input_nodes:
            if self.values.get(a) is result and isinstance(self.env.get(a), str):
                return self.env[a]
        return None

    def unknown(self, node):
        import torch.fx
        ins = []
        torch.fx.node.map_arg((node.args, node.kwargs), lambda a: ins.append(self.env.get(a)) or a)
        names = [x for x in flatten(ins) if isinstance(x, str)]
        tensors = [t for t in flatten_result(self.torch, self.values[node])]
        out_names = self.emit(node, 'unknown', names, {}, out=tensors)
        return rebuild(self.torch, self.values[node], iter(out_names))

    def convert_dynamic(self, node):
        if node.op == 'call_module':
            return self.convert_module(node, self.modules[node.target])
        if node.op == 'call_function':
            return self.convert_function(node, node.target, list(node.args), dict(node.kwargs))
        if node.op == 'call_method':
            return self.convert_method(node, node.target, list(node.args), dict(node.kwargs))
        return None

    # -- modules --------------------------------------------------------------------------------------
    def convert_module(self, node, m):
        torch = self.torch
        nn = torch.nn
        x = node.args[0] if node.args else None
        p = node.target
        if isinstance(m, (nn.Dropout, nn.Dropout2d, nn.Identity)) or type(m).__name__ in ('Dropout1d', 'Dropout3d', 'AlphaDropout'):
            return self.resolve(x)
        if isinstance(m, nn.Conv2d):
            return self.conv2d(node, x, m.weight, m.bias, m.stride, m.padding, m.dilation, m.groups, p, m.padding_mode)
        if isinstance(m, nn.Conv1d):
            return self.conv1d(node, x, m.weight, m.bias, m.stride, m.padding, m.dilation, m.groups, p, m.padding_mode)
        if isinstance(m, nn.Linear):
            ins = [self.tensor_in(x), self.b.constant(m.weight, f'{p}.weight')]
            if m.bias is not None:
                ins.append(self.b.constant(m.bias, f'{p}.bias'))
            return self.one(node, 'linear', ins)
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            return self.batch_norm(node, x, m.running_mean, m.running_var, m.weight, m.bias, m.eps, p)
        if isinstance(m, nn.LayerNorm):
            return self.layer_norm(node, x, list(m.normalized_shape), m.weight, m.bias, m.eps, p)
        if isinstance(m, (nn.ConvTranspose1d, nn.ConvTranspose2d)):
            return self.conv_transpose(node, x, m.weight, m.bias, m.stride, m.padding, m.dilation, m.groups, m.output_padding, p)
        if isinstance(m, nn.GroupNorm):
            return self.group_norm(node, x, m.num_groups, m.weight, m.bias, m.eps, p)
        if isinstance(m, nn.PReLU):
            return self.prelu(node, x, m.weight, p)
        if isinstance(m, nn.GLU):
            return self.glu(node, x, m.dim)
        act = self.activation_module(node, m, x)
        if act is not None:
            return act
        if isinstance(m, nn.Softmax):
            return self.one(node, 'softmax', [self.tensor_in(x)], {'axis': self.norm_axis(m.dim if m.dim is not None else -1, x)})
        if isinstance(m, nn.MaxPool2d):
            return self.pool(node, 'max_pool', x, m.kernel_size, m.stride, m.padding, m.ceil_mode, True, m.dilation)
        if isinstance(m, nn.AvgPool2d):
            return self.pool(node, 'avg_pool', x, m.kernel_size, m.stride, m.padding, m.ceil_mode, not m.count_include_pad, 1)
        if isinstance(m, nn.AdaptiveAvgPool2d):
            return self.adaptive_avg(node, x, m.output_size)
        if isinstance(m, nn.Flatten):
            return self.reshape(node, x)
        if isinstance(m, nn.Embedding):
            return self.one(node, 'gather', [self.b.constant(m.weight, f'{p}.weight'), self.tensor_in(x)], {'axis': 0})
        if isinstance(m, (nn.LSTM, nn.GRU, nn.RNN)):
            return self.recurrent(node, m, p)
        if isinstance(m, nn.MultiheadAttention):
            return self.mha(node, m, p)
        if isinstance(m, nn.Upsample):
            return self.upsample(node, x, m.mode, m.align_corners)
        return None

    def activation_module(self, node, m, x):
        nn = self.torch.nn
        simple = {nn.ReLU: 'relu', nn.Sigmoid: 'sigmoid', nn.Tanh: 'tanh', nn.SiLU: 'silu'}
        for k, v in simple.items():
            if isinstance(m, k):
                return self.one(node, v, [self.tensor_in(x)])
        if isinstance(m, nn.ReLU6):
            return self.one(node, 'clip', [self.tensor_in(x)], {'alpha': 0.0, 'beta': 6.0})
        if isinstance(m, nn.Hardtanh):
            return self.one(node, 'clip', [self.tensor_in(x)], {'alpha': float(m.min_val), 'beta': float(m.max_val)})
        if isinstance(m, nn.GELU):
            return self.gelu(node, x, getattr(m, 'approximate', 'none'))
        if isinstance(m, nn.Hardswish):
            return self.hardswish(node, x)
        if isinstance(m, nn.Hardsigmoid):
            return self.hardsigmoid(node, x)
        if isinstance(m, nn.LeakyReLU):
            return self.one(node, 'leaky_relu', [self.tensor_in(x)], {'alpha': float(m.negative_slope)})
        if isinstance(m, nn.ELU):
            return self.one(node, 'elu', [self.tensor_in(x)], {'alpha': float(m.alpha)})
        return None

    # -- op helpers -----------------------------------------------------------------------------------
    def one(self, node, op, inputs, attrs=None):
        return self.emit(node, op, inputs, attrs)[0]

    def rank(self, a):
        v = self.values.get(a) if not isinstance(a, str) else None
        return v.dim() if isinstance(v, self.torch.Tensor) else None

    def norm_axis(self, axis, x):
        r = self.rank(x)
        return axis + r if (axis < 0 and r is not None) else axis

    def conv2d(self, node, x, weight, bias, stride, padding, dilation, groups, p, padding_mode='zeros'):
        w = self.tensor_in(weight, f'{p}.weight') if not isinstance(weight, self.torch.Tensor) else self.b.constant(weight, f'{p}.weight')
        ins = [self.tensor_in(x), w]
        if bias is not None:
            ins.append(self.tensor_in(bias, f'{p}.bias') if not isinstance(bias, self.torch.Tensor) else self.b.constant(bias, f'{p}.bias'))
        wt = weight if isinstance(weight, self.torch.Tensor) else self.values[weight]
        k = list(wt.shape[2:])
        stride, dilation = pair(stride), pair(dilation)
        pad = conv_pad(padding, k, dilation)
        if padding_mode != 'zeros':
            padded = self.b.add_op(f'{node.name}_pad', 'pad', self.original(node), [ins[0]],
                                   [(None, ('fp32', padded_shape(self.values[x].shape, pad)))],
                                   {'pad': [0, 0, 0, 0, pad[0], pad[1], pad[2], pad[3]], 'mode': {'reflect': 'reflect', 'replicate': 'replicate', 'circular': 'circular'}.get(padding_mode, padding_mode), 'constant_val': 0.0},
                                   self.source(node))[0]
            ins[0] = padded
            pad = [0, 0, 0, 0]
        return self.one(node, 'conv', ins, {'strides': stride, 'pad': pad, 'dilations': dilation, 'groups': int(groups)})

    def conv1d(self, node, x, weight, bias, stride, padding, dilation, groups, p, padding_mode='zeros'):
        # The IR (like MIL on the ANE) runs 1-D convolutions as 2-D with H=1.
        torch = self.torch
        xv = self.values[x]
        n, c, length = xv.shape
        src = self.source(node)
        orig = self.original(node)
        x4 = self.b.add_op(f'{node.name}_to2d', 'reshape', orig, [self.tensor_in(x)], [(None, ('fp32', [n, c, 1, length]))],
                           {'shape': [n, c, 1, length]}, src)[0]
        w = weight if isinstance(weight, torch.Tensor) else self.values[weight]
        ins = [x4, self.b.constant(w.unsqueeze(2), f'{p}.weight')]
        if bias is not None:
            bv = bias if isinstance(bias, torch.Tensor) else self.values[bias]
            ins.append(self.b.constant(bv, f'{p}.bias'))
        k = int(w.shape[2])
        s = int(stride[0] if isinstance(stride, (list, tuple)) else stride)
        d = int(dilation[0] if isinstance(dilation, (list, tuple)) else dilation)
        lp = conv_pad(padding, [k], [d])
        out = self.values[node]
        if padding_mode != 'zeros':
            self.b.warnings.append(f'{node.name}: padding_mode {padding_mode} treated as zeros')
        y4 = self.b.add_op(node.name, 'conv', orig, ins, [(None, ('fp32', [out.shape[0], out.shape[1], 1, out.shape[2]]))],
                           {'strides': [1, s], 'pad': [0, 0, lp[0], lp[1]], 'dilations': [1, d], 'groups': int(groups)}, src)[0]
        return self.b.add_op(f'{node.name}_to1d', 'reshape', orig, [y4], [(None, out)], {'shape': list(out.shape)}, src)[0]

    def batch_norm(self, node, x, mean, var, weight, bias, eps, p):
        ins = [self.tensor_in(x), self.const_or_in(mean, f'{p}.running_mean'), self.const_or_in(var, f'{p}.running_var')]
        if weight is not None:
            ins.append(self.const_or_in(weight, f'{p}.weight'))
            if bias is not None:
                ins.append(self.const_or_in(bias, f'{p}.bias'))
        elif bias is not None:
            ins += ['', self.const_or_in(bias, f'{p}.bias')]
        return self.one(node, 'batch_norm', ins, {'epsilon': float(eps)})

    def layer_norm(self, node, x, normalized_shape, weight, bias, eps, p):
        r = self.rank(x)
        axes = [r - len(normalized_shape) + i for i in range(len(normalized_shape))]
        ins = [self.tensor_in(x)]
        if weight is not None:
            ins.append(self.const_or_in(weight, f'{p}.weight'))
        if bias is not None:
            if weight is None:
                ins.append('')
            ins.append(self.const_or_in(bias, f'{p}.bias'))
        return self.one(node, 'layer_norm', ins, {'axes': axes, 'epsilon': float(eps)})

    def conv_transpose(self, node, x, weight, bias, stride, padding, dilation, groups, output_padding, p):
        # PyTorch's weight layout (Cin, Cout/groups, k...) is the IR's; `padding` crops both ends of each axis.
        if isinstance(padding, str):
            return None
        rank = weight.dim() - 2
        as_list = lambda v: [int(t) for t in v] if isinstance(v, (list, tuple)) else [int(v)] * rank
        stride, padding, dilation, opad = as_list(stride), as_list(padding), as_list(dilation), as_list(output_padding)
        out = self.values[node]
        xv = self.values[x]
        # A forward(x, output_size=...) that picks another size than the attributes give stays unknown.
        for a in range(rank):
            size = (xv.shape[2 + a] - 1) * stride[a] - 2 * padding[a] + dilation[a] * (weight.shape[2 + a] - 1) + 1 + opad[a]
            if size != out.shape[2 + a]:
                return None
        ins = [self.tensor_in(x), self.b.constant(weight, f'{p}.weight')]
        if bias is not None:
            ins.append(self.b.constant(bias, f'{p}.bias'))
        pad = [v for v in padding for _ in range(2)]
        return self.one(node, 'conv_transpose', ins, {'strides': stride, 'pad': pad, 'dilations': dilation, 'groups': int(groups),
                                                      'output_padding': opad})

    def group_norm(self, node, x, groups, weight, bias, eps, p):
        # As Core ML lowers it: each group normalized like one instance (x as (N, G, rest)), then the
        # per-channel scale and shift.
        shape = list(self.values[x].shape)
        last = decompose_group_norm(self.b, node.name, self.original(node), self.source(node), self.tensor_in(x), shape, groups, eps,
                                    weight, bias, p)
        return self.one(node, *last)

    def glu(self, node, x, dim):
        # GLU(x) = a · sigmoid(b), a and b the two halves of x along dim (Core ML lowers it the same way).
        shape = list(self.values[x].shape)
        axis = self.norm_axis(dim, x)
        last = glu_ops(self.b, node.name, self.original(node), self.source(node), self.tensor_in(x), shape, axis)
        return self.one(node, *last)

    def prelu(self, node, x, weight, p):
        # One slope, or one per channel (axis 1): shaped to broadcast against (N, C, ...).
        rank = self.rank(x)
        w = weight.detach()
        if w.numel() > 1 and rank is not None:
            w = w.reshape([1, -1] + [1] * (rank - 2))
        return self.one(node, 'prelu', [self.tensor_in(x), self.b.constant(w, f'{p}.weight')])

    def const_or_in(self, v, base):
        if isinstance(v, self.torch.Tensor):
            return self.b.constant(v, base)
        return self.tensor_in(v, base)

    def gelu(self, node, x, approximate):
        return self.one(node, 'gelu', [self.tensor_in(x)], {'mode': 'TANH_APPROXIMATION' if approximate == 'tanh' else 'EXACT'})

    def hardswish(self, node, x):
        # x * clip(x + 3, 0, 6) / 6 with ops the executor has kernels for (MIL would use sigmoid_hard).
        xv = self.values[x]
        src, orig = self.source(node), self.original(node)
        xi = self.tensor_in(x)
        a = self.b.add_op(f'{node.name}_add3', 'add', orig, [xi, self.b.constant(3.0, 'three')], [(None, xv)], {}, src)[0]
        c = self.b.add_op(f'{node.name}_clip', 'clip', orig, [a], [(None, xv)], {'alpha': 0.0, 'beta': 6.0}, src)[0]
        s = self.b.add_op(f'{node.name}_scale', 'mul', orig, [c, self.b.constant(1.0 / 6.0, 'one_sixth')], [(None, xv)], {}, src)[0]
        return self.b.add_op(node.name, 'mul', orig, [xi, s], [(None, self.values[node])], {}, src)[0]

    def hardsigmoid(self, node, x):
        xv = self.values[x]
        src, orig = self.source(node), self.original(node)
        a = self.b.add_op(f'{node.name}_add3', 'add', orig, [self.tensor_in(x), self.b.constant(3.0, 'three')], [(None, xv)], {}, src)[0]
        c = self.b.add_op(f'{node.name}_clip', 'clip', orig, [a], [(None, xv)], {'alpha': 0.0, 'beta': 6.0}, src)[0]
        return self.b.add_op(node.name, 'mul', orig, [c, self.b.constant(1.0 / 6.0, 'one_sixth')], [(None, self.values[node])], {}, src)[0]

    def pool(self, node, op, x, kernel, stride, padding, ceil_mode, exclude_pad, dilation):
        k = pair(kernel)
        s = pair(stride if stride is not None and stride != [] else kernel)
        pd = pair(padding)
        if pair(dilation) != [1, 1]:
            self.b.warnings.append(f'{node.name}: pooling dilation {pair(dilation)} is not represented in the IR')
        attrs = {'kernel_sizes': k, 'strides': s, 'pad': [pd[0], pd[0], pd[1], pd[1]], 'ceil_mode': bool(ceil_mode)}
        if op == 'avg_pool':
            attrs['exclude_padding_from_average'] = bool(exclude_pad)
        return self.one(node, op, [self.tensor_in(x)], attrs)

    def adaptive_avg(self, node, x, output_size):
        xv = self.values[x]
        out = pair(output_size)
        h, w = xv.shape[-2], xv.shape[-1]
        out = [h if o is None else o for o in out]
        if out == [1, 1]:
            return self.one(node, 'reduce_mean', [self.tensor_in(x)], {'axes': [xv.dim() - 2, xv.dim() - 1], 'keep_dims': True})
        if h % out[0] == 0 and w % out[1] == 0:
            k = [h // out[0], w // out[1]]
            return self.one(node, 'avg_pool', [self.tensor_in(x)], {'kernel_sizes': k, 'strides': k, 'pad': [0, 0, 0, 0],
                                                                    'ceil_mode': False, 'exclude_padding_from_average': True})
        return None

    def reshape(self, node, x):
        return self.one(node, 'reshape', [self.tensor_in(x)], {'shape': list(self.values[node].shape)})

    def recurrent(self, node, m, p):
        kind = {'LSTM': 'lstm', 'GRU': 'gru', 'RNN': 'rnn'}[type(m).__name__]
        ins = [self.tensor_in(node.args[0])]
        if len(node.args) > 1 and node.args[1] is not None:
            h = self.resolve(node.args[1])
            ins += [v for v in flatten(h) if isinstance(v, str)]
        for pname, param in m.named_parameters():
            ins.append(self.b.constant(param, f'{p}.{pname}'))
        attrs = {'hidden_size': m.hidden_size, 'num_layers': m.num_layers, 'bidirectional': bool(m.bidirectional),
                 'batch_first': bool(m.batch_first)}
        if kind == 'rnn':
            attrs['activation'] = m.nonlinearity
        result = self.values[node]
        tensors = list(flatten_result(self.torch, result))
        names = self.emit(node, kind, ins, attrs, out=tensors)
        return rebuild(self.torch, result, iter(names))

    def mha(self, node, m, p):
        args = list(node.args) + [None] * 7
        q = node.kwargs.get('query', args[0])
        k = node.kwargs.get('key', args[1])
        v = node.kwargs.get('value', args[2])
        decomposed = self.mha_decomposed(node, m, p, q, k, v, args)
        if decomposed is not None:
            return decomposed
        # Masks, separate k/v dims, bias_k/add_zero_attn or unbatched input: kept as one op, which the executor
        # has no kernel for (it and everything downstream are costed but not executed).
        ins = [self.tensor_in(q), self.tensor_in(k), self.tensor_in(v)]
        for pname, param in m.named_parameters():
            ins.append(self.b.constant(param, f'{p}.{pname}'))
        attrs = {'num_heads': m.num_heads, 'embed_dim': m.embed_dim, 'batch_first': bool(getattr(m, 'batch_first', False))}
        result = self.values[node]
        tensors = list(flatten_result(self.torch, result))
        names = self.emit(node, 'multihead_attention', ins, attrs, out=tensors)
        return rebuild(self.torch, result, iter(names))

    def mha_decomposed(self, node, m, p, q, k, v, args):
        """nn.MultiheadAttention as the MIL ops Core ML lowers it to (linear, reshape, transpose, matmul,
        softmax), all at the module's source line, so attention runs in the executor and on the ANE."""
        torch = self.torch
        kw = node.kwargs
        key_padding_mask = kw.get('key_padding_mask', args[3])
        attn_mask = kw.get('attn_mask', args[5])
        average = self.resolve(kw.get('average_attn_weights', args[6] if args[6] is not None else True))
        qv = self.values[q]
        if (not m._qkv_same_embed_dim or m.bias_k is not None or m.add_zero_attn or not isinstance(qv, torch.Tensor) or qv.dim() != 3):
            return None
        # Masks known at trace time (built from constant lengths, a causal triangle...) become one additive
        # constant on the scores, as PyTorch applies them (True / -inf = masked out). Masks computed from the
        # inputs keep the module as one op.
        masks = [self.resolve(a) for a in (key_padding_mask, attn_mask)]
        if any(a is not None and not isinstance(r, torch.Tensor) for a, r in zip((key_padding_mask, attn_mask), masks)):
            return None
        src, orig = self.source(node), self.original(node)
        E, H = m.embed_dim, m.num_heads
        D = E // H
        bf = bool(getattr(m, 'batch_first', False))

        def op(suffix, kind, inputs, shape, attrs=None, name=None):
            return self.b.add_op(name or f'{node.name}_{suffix}', kind, orig, inputs, [(None, ('fp32', list(shape)))], attrs or {}, src)[0]

        heads = []
        for i, (x, tag) in enumerate(((q, 'q'), (k, 'k'), (v, 'v'))):
            xv = self.values[x]
            xi = self.tensor_in(x)
            n, length = (xv.shape[0], xv.shape[1]) if bf else (xv.shape[1], xv.shape[0])
            if not bf:
                xi = op(f'{tag}_batch_first', 'transpose', [xi], (n, length, E), {'perm': [1, 0, 2]})
            w = self.b.constant(m.in_proj_weight[i * E:(i + 1) * E], f'{p}.in_proj_weight.{tag}')
            ins = [xi, w]
            if m.in_proj_bias is not None:
                ins.append(self.b.constant(m.in_proj_bias[i * E:(i + 1) * E], f'{p}.in_proj_bias.{tag}'))
            proj = op(f'{tag}_proj', 'linear', ins, (n, length, E))
            split = op(f'{tag}_heads', 'reshape', [proj], (n, length, H, D), {'shape': [n, length, H, D]})
            heads.append((op(f'{tag}_bhld', 'transpose', [split], (n, H, length, D), {'perm': [0, 2, 1, 3]}), n, length))
        (qh, n, lq), (kh, _, lk), (vh, _, _) = heads
        scores = op('scores', 'matmul', [qh, kh], (n, H, lq, lk), {'transpose_x': False, 'transpose_y': True})
        scaled = op('scaled', 'mul', [scores, self.b.constant(1.0 / math.sqrt(D), f'{p}.scale')], (n, H, lq, lk))
        additive = additive_attention_mask(torch, masks[0], masks[1], n, H, lq, lk)
        if additive is not None:
            scaled = op('masked', 'add', [scaled, self.b.constant(additive, f'{p}.mask')], (n, H, lq, lk))
        attn = op('softmax', 'softmax', [scaled], (n, H, lq, lk), {'axis': 3})
        ctx = op('context', 'matmul', [attn, vh], (n, H, lq, D), {'transpose_x': False, 'transpose_y': False})
        ctx = op('context_blhd', 'transpose', [ctx], (n, lq, H, D), {'perm': [0, 2, 1, 3]})
        ctx = op('context_merge', 'reshape', [ctx], (n, lq, E), {'shape': [n, lq, E]})
        ins = [ctx, self.b.constant(m.out_proj.weight, f'{p}.out_proj.weight')]
        if m.out_proj.bias is not None:
            ins.append(self.b.constant(m.out_proj.bias, f'{p}.out_proj.bias'))
        if bf:
            out = op('out', 'linear', ins, (n, lq, E), name=node.name)
        else:
            out = op('out_proj', 'linear', ins, (n, lq, E))
            out = op('out', 'transpose', [out], (lq, n, E), {'perm': [1, 0, 2]}, name=node.name)
        result = self.values[node]
        weights = result[1] if isinstance(result, tuple) and len(result) > 1 else None
        if weights is None:
            return (out, Value(None))
        if average:
            w = op('weights', 'reduce_mean', [attn], (n, lq, lk), {'axes': [1], 'keep_dims': False})
        else:
            w = attn
        return (out, w)

    def upsample(self, node, x, mode, align_corners=None):
        xv, out = self.values[x], self.values[node]
        if xv.dim() != 4:
            return None
        attrs = {'scale_factor_height': out.shape[-2] / xv.shape[-2], 'scale_factor_width': out.shape[-1] / xv.shape[-1]}
        if mode == 'nearest':
            return self.one(node, 'upsample_nearest_neighbor', [self.tensor_in(x)], attrs)
        if mode == 'bilinear':
            # PyTorch's align_corners=False is MIL's half-pixel UNALIGN_CORNERS (not its legacy DEFAULT).
            attrs['sampling_mode'] = 'STRICT_ALIGN_CORNERS' if align_corners else 'UNALIGN_CORNERS'
            return self.one(node, 'resize_bilinear', [self.tensor_in(x)], attrs)
        return None

    # -- functions and methods ------------------------------------------------------------------------
    def arg(self, args, kwargs, i, name, default=None):
        if name in kwargs:
            return kwargs[name]
        return args[i] if i < len(args) else default

    def convert_function(self, node, fn, args, kwargs):
        torch, F = self.torch, self.F
        name = getattr(fn, '__name__', '')
        module = getattr(fn, '__module__', None) or ''
        if module in ('_operator', 'operator'):
            if name in OPERATOR_OPS:
                return self.elementwise(node, OPERATOR_OPS[name], args, kwargs)
            if name in BOOL_OPS:
                return self.logical(node, BOOL_OPS[name], args)
        elif getattr(torch, name, None) is fn:
            if bool_op(name):
                return self.logical(node, bool_op(name), args)
            r = self.elementwise(node, name, args, kwargs)
            if r is not NotImplemented:
                return r
        if fn in (operator.matmul, torch.matmul, torch.bmm, torch.mm):
            return self.one(node, 'matmul', [self.tensor_in(args[0]), self.tensor_in(args[1])], {'transpose_x': False, 'transpose_y': False})
        if fn is torch.einsum:
            # torch.einsum(equation, *operands) or (equation, [operands]); Apple's ANE attention is written this way.
            operands = args[1] if len(args) == 2 and isinstance(args[1], (list, tuple)) else args[1:]
            return self.one(node, 'einsum', [self.tensor_in(t) for t in operands], {'equation': str(self.resolve(args[0]))})
        if fn is operator.neg or fn is torch.neg:
            return self.one(node, 'mul', [self.tensor_in(args[0]), self.b.constant(-1.0, 'minus_one')])
        if fn is operator.getitem:
            return self.getitem(node, args[0], args[1])
        unary = {F.relu: 'relu', F.sigmoid: 'sigmoid', F.tanh: 'tanh', F.silu: 'silu'}
        if fn in unary:
            return self.one(node, unary[fn], [self.tensor_in(args[0])])
        if fn is F.relu6:
            return self.one(node, 'clip', [self.tensor_in(args[0])], {'alpha': 0.0, 'beta': 6.0})
        if fn is F.glu:
            return self.glu(node, args[0], self.resolve(self.arg(args, kwargs, 1, 'dim', -1)))
        if fn is F.gelu:
            return self.gelu(node, args[0], kwargs.get('approximate', 'none'))
        if fn is F.hardswish:
            return self.hardswish(node, args[0])
        if fn is F.hardsigmoid:
            return self.hardsigmoid(node, args[0])
        if fn is F.leaky_relu:
            return self.one(node, 'leaky_relu', [self.tensor_in(args[0])], {'alpha': float(self.arg(args, kwargs, 1, 'negative_slope', 0.01))})
        if fn in (torch.clamp, torch.clip, F.hardtanh):
            lo = self.resolve(self.arg(args, kwargs, 1, 'min' if fn is not F.hardtanh else 'min_val', -1.0 if fn is F.hardtanh else None))
            hi = self.resolve(self.arg(args, kwargs, 2, 'max' if fn is not F.hardtanh else 'max_val', 1.0 if fn is F.hardtanh else None))
            return self.clip(node, args[0], lo, hi)
        if fn in (torch.softmax, F.softmax, F.log_softmax, torch.log_softmax):
            axis = self.norm_axis(self.resolve(self.arg(args, kwargs, 1, 'dim', -1)), args[0])
            if fn in (F.log_softmax, torch.log_softmax):
                sm = self.b.add_op(f'{node.name}_softmax', 'softmax', self.original(node), [self.tensor_in(args[0])],
                                   [(None, self.values[node])], {'axis': axis}, self.source(node))[0]
                return self.b.add_op(node.name, 'log', self.original(node), [sm], [(None, self.values[node])], {}, self.source(node))[0]
            return self.one(node, 'softmax', [self.tensor_in(args[0])], {'axis': axis})
        if fn in (torch.flatten, torch.reshape, torch.squeeze, torch.unsqueeze):
            return self.reshape(node, args[0])
        if fn in (torch.permute,):
            return self.one(node, 'transpose', [self.tensor_in(args[0])], {'perm': self.perm(args[0], self.resolve(args[1]))})
        if fn in (torch.transpose, torch.swapaxes):
            return self.transpose(node, args[0], self.resolve(args[1]), self.resolve(args[2]))
        if fn in (torch.cat, torch.concat):
            return self.concat(node, args[0], self.resolve(self.arg(args, kwargs, 1, 'dim', 0)))
        if fn is torch.stack:
            return self.stack(node, args[0], self.resolve(self.arg(args, kwargs, 1, 'dim', 0)))
        if fn in (torch.mean, torch.sum, torch.amax):
            return self.reduce(node, {torch.mean: 'reduce_mean', torch.sum: 'reduce_sum', torch.amax: 'reduce_max'}[fn],
                               args[0], self.arg(args, kwargs, 1, 'dim'), self.arg(args, kwargs, 2, 'keepdim', False))
        if fn is F.adaptive_avg_pool2d:
            return self.adaptive_avg(node, args[0], self.resolve(self.arg(args, kwargs, 1, 'output_size')))
        if fn in (F.max_pool2d, F.avg_pool2d):
            a = lambda i, n, d=None: self.resolve(self.arg(args, kwargs, i, n, d))  # noqa: E731
            if fn is F.max_pool2d:
                return self.pool(node, 'max_pool', args[0], a(1, 'kernel_size'), a(2, 'stride'), a(3, 'padding', 0),
                                 a(5, 'ceil_mode', False), True, a(4, 'dilation', 1))
            return self.pool(node, 'avg_pool', args[0], a(1, 'kernel_size'), a(2, 'stride'), a(3, 'padding', 0),
                             a(4, 'ceil_mode', False), not a(5, 'count_include_pad', True), 1)
        if fn is F.conv2d or fn is F.conv1d:
            a = lambda i, n, d=None: self.arg(args, kwargs, i, n, d)  # noqa: E731
            conv = self.conv2d if fn is F.conv2d else self.conv1d
            return conv(node, args[0], a(1, 'weight'), a(2, 'bias'), self.resolve(a(3, 'stride', 1)), self.resolve(a(4, 'padding', 0)),
                        self.resolve(a(5, 'dilation', 1)), self.resolve(a(6, 'groups', 1)), node.name)
        if fn is F.linear:
            ins = [self.tensor_in(args[0]), self.tensor_in(self.arg(args, kwargs, 1, 'weight'), f'{node.name}.weight')]
            bias = self.arg(args, kwargs, 2, 'bias')
            if bias is not None:
                ins.append(self.tensor_in(bias, f'{node.name}.bias'))
            return self.one(node, 'linear', ins)
        if fn is F.layer_norm:
            ns = self.resolve(self.arg(args, kwargs, 1, 'normalized_shape'))
            return self.layer_norm(node, args[0], list(ns), self.arg(args, kwargs, 2, 'weight'), self.arg(args, kwargs, 3, 'bias'),
                                   self.resolve(self.arg(args, kwargs, 4, 'eps', 1e-5)), node.name)
        if fn is F.batch_norm:
            return self.batch_norm(node, args[0], self.arg(args, kwargs, 1, 'running_mean'), self.arg(args, kwargs, 2, 'running_var'),
                                   self.arg(args, kwargs, 3, 'weight'), self.arg(args, kwargs, 4, 'bias'),
                                   self.resolve(self.arg(args, kwargs, 7, 'eps', 1e-5)), node.name)
        if fn in (F.dropout, F.dropout2d, torch.dropout):
            return self.resolve(args[0])
        if fn is F.interpolate:
            return self.upsample(node, args[0], self.resolve(self.arg(args, kwargs, 3, 'mode', 'nearest')),
                                 self.resolve(self.arg(args, kwargs, 4, 'align_corners', None)))
        if fn is F.pad:
            return self.pad(node, args[0], self.resolve(self.arg(args, kwargs, 1, 'pad')), self.resolve(self.arg(args, kwargs, 2, 'mode', 'constant')),
                            self.resolve(self.arg(args, kwargs, 3, 'value', 0.0)))
        if fn in (torch.chunk, torch.split):
            return self.split(node, args[0], self.arg(args, kwargs, 2, 'dim', 0))
        if fn is F.normalize:
            x = args[0]
            axis = self.norm_axis(self.resolve(self.arg(args, kwargs, 2, 'dim', 1)), x)
            last = normalize_ops(self.b, node.name, self.original(node), self.source(node), self.tensor_in(x), list(self.values[x].shape),
                                 self.resolve(self.arg(args, kwargs, 1, 'p', 2.0)), axis, self.resolve(self.arg(args, kwargs, 3, 'eps', 1e-12)))
            return self.one(node, *last)
        if fn in (torch.norm, getattr(getattr(torch, 'linalg', None), 'vector_norm', None)) and fn is not None:
            p = self.resolve(self.arg(args, kwargs, 1, 'ord' if fn is not torch.norm else 'p', 2 if fn is not torch.norm else 'fro'))
            return self.p_norm(node, args[0], p, self.arg(args, kwargs, 2, 'dim'), self.arg(args, kwargs, 3, 'keepdim', False))
        if fn in (torch.clamp_min, torch.clamp_max):
            bound = self.resolve(args[1])
            return self.clip(node, args[0], bound if fn is torch.clamp_min else None, bound if fn is torch.clamp_max else None)
        if fn is torch.roll:
            return self.roll(node, args[0], self.resolve(self.arg(args, kwargs, 1, 'shifts')), self.resolve(self.arg(args, kwargs, 2, 'dims', None)))
        if fn is F.embedding:
            return self.one(node, 'gather', [self.tensor_in(args[1]), self.tensor_in(args[0])], {'axis': 0})
        if fn is torch.where and len(args) == 3:
            return self.one(node, 'select', [self.tensor_in(a) for a in args[:3]])
        if fn in (torch.gather, torch.index_select):
            return self.one(node, 'gather', [self.tensor_in(args[0]), self.tensor_in(args[2])], {'axis': self.norm_axis(self.resolve(args[1]), args[0])})
        if name.startswith('scatter'):
            return self.one(node, 'scatter', [self.tensor_in(a) for a in args if not isinstance(self.resolve(a), (int, float))])
        return None

    def convert_method(self, node, name, args, kwargs):
        torch = self.torch
        x = args[0]
        if name in ('view', 'reshape', 'flatten', 'squeeze', 'unsqueeze', 'view_as', 'reshape_as'):
            return self.reshape(node, x)
        if name in ('contiguous', 'clone', 'detach'):
            return self.resolve(x)
        if name in FX_CASTS:
            # .to(device) and conversions to the dtype it already has are the input itself; others a cast.
            src, dst = self.values.get(x), self.values.get(node)
            if not isinstance(dst, torch.Tensor) or not isinstance(src, torch.Tensor) or dst.dtype == src.dtype:
                return self.resolve(x)
            return self.one(node, 'cast', [self.tensor_in(x)], {'dtype': ir_dtype(torch, dst.dtype)})
        if name == 'permute':
            dims = args[1:] if len(args) > 2 or not isinstance(self.resolve(args[1]), (list, tuple)) else self.resolve(args[1])
            return self.one(node, 'transpose', [self.tensor_in(x)], {'perm': self.perm(x, [self.resolve(d) for d in dims])})
        if name in ('transpose', 'swapaxes'):
            return self.transpose(node, x, self.resolve(args[1]), self.resolve(args[2]))
        if name == 't':
            return self.transpose(node, x, 0, 1)
        if bool_op(name):
            return self.logical(node, bool_op(name), args)
        r = self.elementwise(node, {'__add__': 'add', '__mul__': 'mul'}.get(name, name), args, kwargs)
        if r is not NotImplemented:
            return r
        if name in ('matmul', 'bmm', 'mm'):
            return self.one(node, 'matmul', [self.tensor_in(x), self.tensor_in(args[1])], {'transpose_x': False, 'transpose_y': False})
        if name in ('softmax',):
            return self.one(node, 'softmax', [self.tensor_in(x)], {'axis': self.norm_axis(self.resolve(self.arg(args, kwargs, 1, 'dim', -1)), x)})
        if name in ('mean', 'sum', 'amax'):
            return self.reduce(node, {'mean': 'reduce_mean', 'sum': 'reduce_sum', 'amax': 'reduce_max'}[name], x,
                               self.arg(args, kwargs, 1, 'dim'), self.arg(args, kwargs, 2, 'keepdim', False))
        if name in ('clamp', 'clip'):
            return self.clip(node, x, self.resolve(self.arg(args, kwargs, 1, 'min')), self.resolve(self.arg(args, kwargs, 2, 'max')))
        if name in ('chunk', 'split'):
            return self.split(node, x, self.arg(args, kwargs, 2, 'dim', 0))
        if name == 'norm':
            return self.p_norm(node, x, self.resolve(self.arg(args, kwargs, 1, 'p', 'fro')), self.arg(args, kwargs, 2, 'dim'),
                               self.arg(args, kwargs, 3, 'keepdim', False))
        if name in ('clamp_min', 'clamp_max'):
            bound = self.resolve(args[1])
            return self.clip(node, x, bound if name == 'clamp_min' else None, bound if name == 'clamp_max' else None)
        if name in ('expand', 'expand_as'):
            target = list(self.values[node].shape)
            last = tile_ops(self.b, node.name, self.original(node), self.source(node), self.tensor_in(x), list(self.values[x].shape), target)
            return self.one(node, *last)
        if name == 'roll':
            return self.roll(node, x, self.resolve(self.arg(args, kwargs, 1, 'shifts')), self.resolve(self.arg(args, kwargs, 2, 'dims', None)))
        if name == 'neg':
            return self.one(node, 'mul', [self.tensor_in(x), self.b.constant(-1.0, 'minus_one')])
        return None

    def elementwise(self, node, name, args, kwargs):
        """torch.X / Tensor.X / X_ of a shared elementwise op (UNARY_OPS, BINARY_OPS); NotImplemented for other names."""
        base = name[:-1] if name.endswith('_') and not name.endswith('__') else name
        if base in UNARY_OPS:
            return self.one(node, UNARY_OPS[base], [self.tensor_in(args[0])])
        if base == 'reciprocal':
            return self.one(node, 'real_div', [self.b.constant(1.0, 'one'), self.tensor_in(args[0])])
        if base == 'masked_fill':
            # x.masked_fill(mask, value): value where mask, else x
            x, mask, value = args[0], self.arg(args, kwargs, 1, 'mask'), self.arg(args, kwargs, 2, 'value')
            return self.one(node, 'select', [self.tensor_in(mask), self.tensor_in(value), self.tensor_in(x)])
        if base not in BINARY_OPS:
            return NotImplemented
        op = BINARY_OPS[base]
        if base == 'div':
            op = division_op(self.resolve(kwargs.get('rounding_mode')))
        return self.binary(node, op, args[0], self.arg(args, kwargs, 1, 'other'), kwargs.get('alpha'))

    def logical(self, node, op, args):
        """&, |, ^, ~ (and their torch names): logical ops on bool tensors; None (unknown) on integers."""
        if not isinstance(self.values.get(node), self.torch.Tensor) or self.values[node].dtype != self.torch.bool:
            return None
        if op == 'logical_not':
            return self.one(node, op, [self.tensor_in(args[0])])
        return self.binary(node, op, args[0], args[1])

    def binary(self, node, op, a, c, alpha=None):
        ra, rc = self.resolve(a), self.resolve(c)
        if alpha not in (None, 1) and op in ('add', 'sub'):
            return None
        if not isinstance(ra, str) and not isinstance(rc, str):
            return None
        return self.one(node, op, [self.tensor_in(a), self.tensor_in(c)])

    def clip(self, node, x, lo, hi):
        if lo is not None and hi is None and float(lo) == 0.0:
            return self.one(node, 'relu', [self.tensor_in(x)])
        big = 3.4e38
        return self.one(node, 'clip', [self.tensor_in(x)], {'alpha': float(lo) if lo is not None else -big,
                                                            'beta': float(hi) if hi is not None else big})

    def perm(self, x, dims):
        r = self.rank(x)
        dims = list(dims[0]) if len(dims) == 1 and isinstance(dims[0], (list, tuple)) else list(dims)
        return [d + r if d < 0 else d for d in dims]

    def transpose(self, node, x, d0, d1):
        r = self.rank(x)
        d0, d1 = (d0 + r if d0 < 0 else d0), (d1 + r if d1 < 0 else d1)
        perm = list(range(r))
        perm[d0], perm[d1] = perm[d1], perm[d0]
        return self.one(node, 'transpose', [self.tensor_in(x)], {'perm': perm})

    def concat(self, node, xs, axis):
        r = self.values[node].dim()
        # Empty pieces add nothing (and torch.cat skips a legacy empty 1-D tensor whatever the other ranks are).
        def empty(v):
            t = self.values.get(v) if isinstance(v, self.torch.fx.Node) else v
            return isinstance(t, self.torch.Tensor) and t.numel() == 0
        kept = [v for v in xs if not empty(v)]
        if len(kept) == 1:
            return self.resolve(kept[0])
        return self.one(node, 'concat', [self.tensor_in(v) for v in kept or xs], {'axis': axis + r if axis < 0 else axis})

    def stack(self, node, xs, axis):
        out = self.values[node]
        r = out.dim()
        axis = axis + r if axis < 0 else axis
        parts = []
        for i, v in enumerate(xs):
            shape = list(out.shape)
            shape[axis] = 1
            parts.append(self.b.add_op(f'{node.name}_expand{i}', 'reshape', self.original(node), [self.tensor_in(v)],
                                       [(None, ('fp32', shape))], {'shape': shape}, self.source(node))[0])
        return self.one(node, 'concat', parts, {'axis': axis})

    def p_norm(self, node, x, p, dim, keepdim):
        op = norm_op(p)
        return None if op is None else self.reduce(node, op, x, dim, keepdim)

    def reduce(self, node, op, x, dim, keepdim):
        dim = self.resolve(dim)
        keepdim = bool(self.resolve(keepdim))
        r = self.rank(x)
        if dim is None:
            axes = list(range(r))
        else:
            axes = list(dim) if isinstance(dim, (list, tuple)) else [dim]
        return self.one(node, op, [self.tensor_in(x)], {'axes': axes, 'keep_dims': keepdim})

    def split(self, node, x, dim):
        result = self.values[node]
        axis = self.norm_axis(self.resolve(dim), x)
        sizes = [int(t.shape[axis]) for t in result]
        names = self.emit(node, 'split', [self.tensor_in(x)], {'axis': axis, 'split_sizes': sizes}, out=list(result))
        return tuple(names)

    def pad(self, node, x, pads, mode, value):
        return self.one(node, 'pad', [self.tensor_in(x)], pad_attrs(self.rank(x), pads, mode, value))

    def roll(self, node, x, shifts, dims):
        last = roll_ops(self.b, node.name, self.original(node), self.source(node), self.tensor_in(x), list(self.values[x].shape),
                        shifts, dims)
        return self.one(node, *last)

    def getitem(self, node, container, index):
        r = self.resolve(container)
        idx = self.resolve(index)
        if isinstance(r, (list, tuple)):
            return r[idx]
        if not isinstance(r, str):
            return None
        xv = self.values[container]
        out = self.values[node]
        if not isinstance(idx, tuple):
            idx = (idx,)
        if any(isinstance(i, str) or (hasattr(i, 'dim')) for i in idx):
            return None  # tensor indexing: gather, not mapped
        begin, end, stride = [], [], []
        axis = 0
        expanded = []
        n_real = sum(1 for i in idx if i is not None and i is not Ellipsis)
        for i in idx:
            if i is Ellipsis:
                expanded += [slice(None)] * (xv.dim() - n_real)
            else:
                expanded.append(i)
        for i in expanded:
            if i is None:
                continue
            size = xv.shape[axis]
            if isinstance(i, int):
                j = i + size if i < 0 else i
                begin.append(j), end.append(j + 1), stride.append(1)
            elif isinstance(i, slice):
                s, e, st = i.indices(size)
                begin.append(s), end.append(e), stride.append(st)
            else:
                return None
            axis += 1
        while axis < xv.dim():
            begin.append(0), end.append(xv.shape[axis]), stride.append(1)
            axis += 1
        sliced_shape = [len(range(b, e, s)) for b, e, s in zip(begin, end, stride)]
        src, orig = self.source(node), self.original(node)
        if list(out.shape) == sliced_shape:
            return self.one(node, 'slice_by_index', [r], {'begin': begin, 'end': end, 'stride': stride})
        sl = self.b.add_op(f'{node.name}_slice', 'slice_by_index', orig, [r], [(None, ('fp32', sliced_shape))],
                           {'begin': begin, 'end': end, 'stride': stride}, src)[0]
        return self.b.add_op(node.name, 'reshape', orig, [sl], [(None, out)], {'shape': list(out.shape)}, src)[0]


def pair(v):
    if isinstance(v, (list, tuple)):
        return [int(x) for x in v] if len(v) == 2 else [int(v[0]), int(v[0])]
    return [int(v), int(v)]


def conv_pad(padding, k, dilation):
    """[top, bottom, left, right] (or [left, right] for 1-D) from PyTorch's padding argument."""
    if isinstance(padding, str):
        if padding == 'valid':
            return [0] * (2 * len(k))
        out = []
        for kk, d in zip(k, dilation):  # 'same' (stride 1): extra padding goes at the end, like PyTorch
            total = d * (kk - 1)
            out += [total // 2, total - total // 2]
        return out
    p = padding if isinstance(padding, (list, tuple)) else [padding] * len(k)
    out = []
    for x in p:
        out += [int(x), int(x)]
    return out


def padded_shape(shape, pad):
    s = list(shape)
    s[-2] += pad[0] + pad[1]
    s[-1] += pad[2] + pad[3]
    return s


def contains_tensor(torch, v):
    return any(isinstance(x, torch.Tensor) for x in flatten_result(torch, v))


def flatten_result(torch, v):
    if isinstance(v, torch.Tensor):
        yield v
    elif isinstance(v, (list, tuple)):
        for x in v:
            yield from flatten_result(torch, x)


def rebuild(torch, v, names):
    """The result's structure with each tensor replaced by the next value name."""
    if isinstance(v, torch.Tensor):
        return next(names)
    if isinstance(v, (list, tuple)):
        return tuple(rebuild(torch, x, names) for x in v)
    return Value(v)


# ---------------------------------------------------------------------------------------------------------
# torch.jit.trace fallback

JIT_UNARY = {f'aten::{name}{inplace}': op for name, op in UNARY_OPS.items() for inplace in ('', '_')}
JIT_BINARY = {f'aten::{name}{inplace}': op for name, op in BINARY_OPS.items() for inplace in ('', '_')}
JIT_ALIAS = {'aten::dropout', 'aten::dropout_', 'aten::contiguous', 'aten::detach', 'aten::clone', 'aten::feature_dropout'}
JIT_RESHAPE = {'aten::view', 'aten::reshape', 'aten::flatten', 'aten::squeeze', 'aten::unsqueeze'}
# Arithmetic on values known at trace time (x.shape[1] // heads, head_dim ** -0.5): jit records it as ops on
# 0-d tensors; folded here like the fx path folds it, instead of becoming ops (or unknown ones) in the graph.
JIT_FOLD = {'aten::floor_divide': lambda a, b: a // b, 'aten::floordiv': lambda a, b: a // b,
            'aten::div': lambda a, b, mode=None: a // b if mode == 'floor' else (int(a / b) if mode == 'trunc' else a / b), 'aten::mul': lambda a, b: a * b, 'aten::add': lambda a, b, alpha=1: a + alpha * b,
            'aten::sub': lambda a, b, alpha=1: a - alpha * b, 'aten::rsub': lambda a, b, alpha=1: b - alpha * a, 'aten::pow': lambda a, b: a ** b, 'aten::neg': lambda a: -a,
            'aten::remainder': lambda a, b: a % b, 'aten::Float': float, 'aten::FloatImplicit': float, 'aten::IntImplicit': int}


# Ops that read only the shape and dtype of their tensor argument: on a static graph their result is a constant.
JIT_SHAPE_ONLY = {'aten::new_zeros', 'aten::new_ones', 'aten::new_full', 'aten::new_empty', 'aten::zeros_like',
                  'aten::ones_like', 'aten::full_like', 'aten::empty_like'}
# Never evaluated at trace time: their value is not a function of the inputs.
JIT_NO_FOLD = {'aten::rand', 'aten::randn', 'aten::rand_like', 'aten::randn_like', 'aten::randint', 'aten::bernoulli',
               'aten::dropout', 'aten::normal', 'aten::uniform_', 'aten::normal_'}


def storage_of(t):
    return (t.untyped_storage() if hasattr(t, 'untyped_storage') else t.storage()).data_ptr()


def jit_fold_constant(torch, node, env, out_type, frozen):
    """
    The outputs of an aten op none of whose inputs depends on the model's inputs, evaluated now, or None.
    Core ML folds such subgraphs at conversion (const elimination), and torchvision's Swin builds its
    shifted-window mask and relative position bias this way: a zero tensor written into slice by slice,
    compared, masked, gathered from a parameter table. Evaluated with torch's own ops in graph order, so
    views alias and in-place writes land in the tensor they were made from, as in eager mode.
    """
    kind, ins, outs = node.kind(), list(node.inputs()), list(node.outputs())
    if not kind.startswith('aten::') or kind in JIT_NO_FOLD:
        return None
    args = []
    for k, i in enumerate(ins):
        r = env.get(i.debugName())
        if isinstance(r, Value):
            args.append(r.v)
        elif kind in JIT_SHAPE_ONLY and k == 0 and isinstance(r, str):
            t = out_type(i)
            if t is None:
                return None
            args.append(torch.zeros(t[1], dtype={'fp16': torch.float16, 'int64': torch.int64, 'int32': torch.int32,
                                                 'bool': torch.bool, 'fp64': torch.float64}.get(t[0], torch.float32)))
        else:
            return None
    if not any(isinstance(a, torch.Tensor) for a in flatten(args)) and kind not in JIT_FACTORIES:
        return None  # scalar arithmetic on sizes is JIT_FOLD's; an op with no tensor at all is left as it was
    if kind.endswith('_') and isinstance(args[0], torch.Tensor) and storage_of(args[0]) in frozen:
        return None  # an in-place write into a parameter or buffer: not ours to change
    try:
        # Keyword-only parameters (dtype=, device= of factories) are positional in the graph.
        schema = torch._C.parse_schema(node.schema())
        pos = [a for a, p in zip(args, schema.arguments) if not p.kwarg_only]
        kw = {p.name: a for a, p in zip(args, schema.arguments) if p.kwarg_only}
        result = getattr(torch.ops.aten, kind[len('aten::'):])(*pos, **kw)
    except Exception:
        return None
    results = list(result) if len(outs) > 1 and isinstance(result, (list, tuple)) else [result]
    if len(results) != len(outs):
        return None
    return results


# Constant tensors made from sizes alone (torch.zeros(3, 4), torch.arange(n)).
JIT_FACTORIES = {'aten::zeros', 'aten::ones', 'aten::full', 'aten::arange', 'aten::eye', 'aten::tensor', 'aten::scalar_tensor',
                 'aten::linspace', 'aten::hann_window', 'aten::hamming_window', 'aten::blackman_window',
                 'aten::bartlett_window', 'aten::kaiser_window'}
# dtype conversions: the input itself when the dtype does not change, else a cast.
JIT_CASTS = {'aten::to', 'aten::type_as'}
FX_CASTS = {'to', 'type_as', 'type', 'float', 'half', 'double', 'int', 'long', 'short', 'bool'}


def same_dtype(a, b):
    return a is not None and b is not None and a[0] == b[0]


def trace_jit(torch, model, cls, path, shapes, seed, torch_dir):
    inputs = example_inputs(torch, shapes, {}, seed)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        with torch.no_grad():
            traced = torch.jit.trace(model, tuple(inputs), check_trace=False)
    b = Builder(torch, cls.__name__, path)
    for w in caught:
        if os.path.abspath(w.filename) == path:
            b.warnings.append(f'{os.path.basename(path)}:{w.lineno}: {one_line(w.message)}')
    graph = traced.inlined_graph
    # Values: run the graph node by node is not exposed; shapes come from the traced types, constants and
    # parameters from the module's state.
    env = {}
    params = dict(model.named_parameters())
    params.update(dict(model.named_buffers()))
    frozen = {storage_of(t) for t in params.values()}
    attr_path = {}
    param_names = {}
    graph_inputs = list(graph.inputs())
    attr_path[graph_inputs[0].debugName()] = ''
    for i, v in enumerate(graph_inputs[1:]):
        name = b.unique(v.debugName().split('.')[0] if v.debugName() and not v.debugName()[0].isdigit() else f'input_{i}')
        b.inputs.append({'name': name, 'type': {'dtype': 'fp32', 'shape': list(shapes[i])}})
        env[v.debugName()] = name

    def out_type(v):
        t = v.type()
        try:
            sizes = t.sizes()
            st = t.scalarType()
        except Exception:
            return None
        if sizes is None:
            return None
        return ({'Float': 'fp32', 'Half': 'fp16', 'Long': 'int64', 'Int': 'int32', 'Bool': 'bool', 'Double': 'fp64',
                 'Short': 'int16', 'Char': 'int8', 'Byte': 'uint8'}.get(st, 'fp32'), list(sizes))

    # Ops recorded inside library code with no frame of the user's (an inherited forward) point at the class.
    class_source = {'file': path, 'line': class_line(cls)}

    def source_of(n):
        import re
        text = n.sourceRange() if hasattr(n, 'sourceRange') else ''
        for mm in re.finditer(r'([^\s(]+\.py)\((\d+)\)', text or ''):
            f = os.path.abspath(mm.group(1))
            if not f.startswith(torch_dir) and f != os.path.abspath(__file__):
                return {'file': f, 'line': int(mm.group(2))}
        return class_source

    def inp(v):
        name = env.get(v.debugName())
        if isinstance(name, str):
            return name
        if isinstance(name, Value):
            val = name.v
            if isinstance(val, torch.Tensor) or isinstance(val, (int, float)):
                return b.constant(val, param_names.get(id(val), 'const'))
        raise ValueError(f'unresolved value %{v.debugName()}')

    def const(v):
        r = env.get(v.debugName())
        return r.v if isinstance(r, Value) else r

    counter = [0]
    for n in graph.nodes():
        kind = n.kind()
        ins = list(n.inputs())
        outs = list(n.outputs())
        if kind == 'prim::Constant':
            env[outs[0].debugName()] = Value(outs[0].toIValue())
            continue
        if kind == 'prim::GetAttr':
            base = attr_path.get(ins[0].debugName())
            full = (base + '.' if base else '') + n.s('name')
            attr_path[outs[0].debugName()] = full
            if full in params:
                t = params[full].detach()
                param_names[id(t)] = full
                env[outs[0].debugName()] = Value(t)
            continue
        if kind == 'prim::ListConstruct' or kind == 'prim::TupleConstruct':
            items = [env.get(i.debugName()) for i in ins]
            env[outs[0].debugName()] = Value([x.v for x in items]) if all(isinstance(x, Value) for x in items) else items
            continue
        if kind in ('prim::ListUnpack', 'prim::TupleUnpack'):
            src = env.get(ins[0].debugName())
            seq = src.v if isinstance(src, Value) else src
            for o, x in zip(outs, seq):
                env[o.debugName()] = x if isinstance(x, (str, Value)) else Value(x)
            continue
        if kind == 'aten::size':
            t = out_type(ins[0])
            d = const(ins[1]) if len(ins) > 1 else None
            env[outs[0].debugName()] = Value(t[1][d] if (t and d is not None) else (t[1] if t else None))
            continue
        if kind in ('aten::Int', 'prim::NumToTensor', 'aten::ScalarImplicit'):
            env[outs[0].debugName()] = env.get(ins[0].debugName())
            continue
        if kind in JIT_ALIAS or (kind in JIT_CASTS and same_dtype(out_type(ins[0]), out_type(outs[0]))):
            env[outs[0].debugName()] = env.get(ins[0].debugName())
            continue
        if kind in JIT_FOLD and len(outs) == 1 and all(isinstance(env.get(i.debugName()), Value) for i in ins):
            args = [env[i.debugName()].v for i in ins]
            # Scalars only (sizes, counts, scale factors); parameters stay tensors the graph computes with.
            if all(isinstance(a, (int, float, bool, str, type(None))) or (isinstance(a, torch.Tensor) and a.dim() == 0) for a in args):
                try:
                    env[outs[0].debugName()] = Value(JIT_FOLD[kind](*args))
                    continue
                except Exception:
                    pass  # mapped as an op below, as before
        folded = jit_fold_constant(torch, n, env, out_type, frozen)
        if folded is not None:
            for o, v in zip(outs, folded):
                env[o.debugName()] = Value(v)
            continue
        counter[0] += 1
        # Ops inside a submodule are named and located like the fx path: by module path and the
        # `self.x = ...` assignment; others by the forward line jit recorded.
        last = n.scopeName().split('/')[-1]
        scope = last[len('__module.'):] if last.startswith('__module.') else ''
        base = scope if scope else kind.split('::')[-1].strip('_') + f'_{counter[0]}'
        src = (module_source(model, scope, torch_dir) if scope else None) or source_of(n)
        types = [(None, out_type(o) or ('fp32', [])) for o in outs]
        tensor_ins = []
        op, attrs = 'unknown', {}
        try:
            if kind in JIT_UNARY:
                op, tensor_ins = JIT_UNARY[kind], [inp(ins[0])]
            elif kind in JIT_BINARY:
                op, tensor_ins = JIT_BINARY[kind], [inp(ins[0]), inp(ins[1])]
                if kind in ('aten::add', 'aten::sub', 'aten::add_', 'aten::sub_') and len(ins) > 2 and const(ins[2]) not in (None, 1):
                    raise ValueError(f'alpha={const(ins[2])}')
                if kind in ('aten::div', 'aten::div_') and len(ins) > 2:
                    op = division_op(const(ins[2]))
            elif bool_op(kind[len('aten::'):]) and (out_type(outs[0]) or ('',))[0] == 'bool':
                op = bool_op(kind[len('aten::'):])
                tensor_ins = [inp(ins[0])] + ([inp(ins[1])] if op != 'logical_not' else [])
            elif kind == 'aten::where' and len(ins) == 3:
                op, tensor_ins = 'select', [inp(ins[0]), inp(ins[1]), inp(ins[2])]
            elif kind in ('aten::masked_fill', 'aten::masked_fill_'):
                op, tensor_ins = 'select', [inp(ins[1]), inp(ins[2]), inp(ins[0])]
            elif kind in ('aten::reciprocal', 'aten::reciprocal_'):
                op, tensor_ins = 'real_div', [b.constant(1.0, 'one'), inp(ins[0])]
            elif kind in ('aten::_convolution', 'aten::conv2d', 'aten::conv1d'):
                w = const(ins[1])
                bias = const(ins[2])
                stride, pad, dil = const(ins[3]), const(ins[4]), const(ins[5])
                groups = const(ins[8]) if kind == 'aten::_convolution' else const(ins[6])
                transposed = kind == 'aten::_convolution' and bool(const(ins[6]))
                op = 'conv_transpose' if transposed else 'conv'
                tensor_ins = [inp(ins[0]), inp(ins[1])] + ([inp(ins[2])] if isinstance(bias, torch.Tensor) else [])
                if w.dim() not in (3, 4):
                    raise ValueError(f'{w.dim() - 2}-D convolution')
                per_axis = lambda v: list(v) if isinstance(v, (list, tuple)) else [v] * (w.dim() - 2)
                # The IR's pad: [top, bottom, left, right], or [begin, end] for a 1-D op (conv and conv_transpose).
                attrs = {'strides': per_axis(stride), 'pad': [v for v in per_axis(pad) for _ in range(2)], 'dilations': per_axis(dil),
                         'groups': int(groups)}
                if transposed:
                    attrs['output_padding'] = per_axis(const(ins[7]))
            elif kind in ('aten::max', 'aten::min', 'aten::amax', 'aten::amin'):
                red = 'reduce_max' if kind in ('aten::max', 'aten::amax') else 'reduce_min'
                rank = len(out_type(ins[0])[1])
                if kind in ('aten::max', 'aten::min') and len(ins) == 2:  # elementwise max(a, b)
                    op, tensor_ins = ('maximum' if kind == 'aten::max' else 'minimum'), [inp(ins[0]), inp(ins[1])]
                elif len(ins) == 1:  # the whole tensor
                    op, tensor_ins, attrs = red, [inp(ins[0])], {'axes': list(range(rank)), 'keep_dims': False}
                else:
                    # max(x, dim, keepdim) → (values, indices): the values as a reduction; the indices (an argmax,
                    # no ANE path) stay unmapped, so whatever reads them is kept as unknown.
                    dims = const(ins[1])
                    dims = list(dims) if isinstance(dims, (list, tuple)) else [dims]
                    op, tensor_ins = red, [inp(ins[0])]
                    attrs = {'axes': [d + rank if d < 0 else d for d in dims], 'keep_dims': bool(const(ins[2]))}
                    types = types[:1]
            elif kind in JIT_CASTS:
                # x.to(dtype), x.float(), x.half(), x.type_as(y) to another dtype: Core ML's cast.
                op, tensor_ins, attrs = 'cast', [inp(ins[0])], {'dtype': out_type(outs[0])[0]}
            elif kind in ('aten::pad', 'aten::constant_pad_nd'):
                mode = const(ins[2]) if kind == 'aten::pad' else 'constant'
                value = const(ins[3]) if kind == 'aten::pad' else const(ins[2])
                op, tensor_ins = 'pad', [inp(ins[0])]
                attrs = pad_attrs(len(out_type(ins[0])[1]), list(const(ins[1])), mode, value)
            elif kind in ('aten::norm', 'aten::linalg_vector_norm', 'aten::frobenius_norm') and len(ins) >= 3:
                # norm(self, p, dim, keepdim[, dtype]); linalg_vector_norm(self, ord, dim, keepdim, dtype);
                # frobenius_norm(self, dim, keepdim) is x.norm(dim=...) with the default p.
                fro = kind == 'aten::frobenius_norm'
                p, dims, keep = (2, const(ins[1]), const(ins[2])) if fro else (const(ins[1]), const(ins[2]), const(ins[3]))
                op = norm_op(p)
                if op is None:
                    raise ValueError(f'a {p}-norm has no MIL reduction')
                rank = len(out_type(ins[0])[1])
                dims = list(dims) if isinstance(dims, (list, tuple)) else ([] if dims is None else [dims])
                tensor_ins = [inp(ins[0])]
                attrs = {'axes': [d + rank if d < 0 else d for d in dims or range(rank)], 'keep_dims': bool(keep)}
            elif kind in ('aten::clamp_min', 'aten::clamp_max'):
                bound = float(const(ins[1]))
                op, tensor_ins = 'clip', [inp(ins[0])]
                attrs = {'alpha': bound if kind == 'aten::clamp_min' else -3.4e38, 'beta': bound if kind == 'aten::clamp_max' else 3.4e38}
            elif kind in ('aten::expand', 'aten::expand_as'):
                op, tensor_ins, attrs = tile_ops(b, base, kind, src, inp(ins[0]), list(out_type(ins[0])[1]), list(types[0][1][1]))
            elif kind == 'aten::roll':
                op, tensor_ins, attrs = roll_ops(b, base, kind, src, inp(ins[0]), list(out_type(ins[0])[1]), const(ins[1]), const(ins[2]))
            elif kind in ('aten::neg', 'aten::neg_'):
                op, tensor_ins = 'mul', [inp(ins[0]), b.constant(-1.0, 'minus_one')]
            elif kind == 'aten::glu':
                shape = list(out_type(ins[0])[1])
                axis = const(ins[1])
                op, tensor_ins, attrs = glu_ops(b, base, kind, src, inp(ins[0]), shape, axis + len(shape) if axis < 0 else axis)
            elif kind == 'aten::group_norm':
                # (input, num_groups, weight?, bias?, eps, cudnn_enabled)
                weight, bias = const(ins[2]), const(ins[3])
                path = param_names.get(id(weight), param_names.get(id(bias), base))
                op, tensor_ins, attrs = decompose_group_norm(
                    b, base, kind, src, inp(ins[0]), list(out_type(ins[0])[1]), int(const(ins[1])), float(const(ins[4])),
                    weight if isinstance(weight, torch.Tensor) else None, bias if isinstance(bias, torch.Tensor) else None,
                    path.rsplit('.', 1)[0] if '.' in path else path)
            elif kind in ('aten::prelu', 'aten::prelu_'):
                w = const(ins[1])
                rank = len(out_type(ins[0])[1])
                if isinstance(w, torch.Tensor) and w.numel() > 1:
                    w = w.detach().reshape([1, -1] + [1] * (rank - 2))
                op, tensor_ins = 'prelu', [inp(ins[0]), b.constant(w, param_names.get(id(const(ins[1])), 'weight'))]
            elif kind == 'aten::linear':
                bias = const(ins[2])
                op, tensor_ins = 'linear', [inp(ins[0]), inp(ins[1])] + ([inp(ins[2])] if isinstance(bias, torch.Tensor) else [])
            elif kind in ('aten::matmul', 'aten::bmm', 'aten::mm'):
                op, tensor_ins, attrs = 'matmul', [inp(ins[0]), inp(ins[1])], {'transpose_x': False, 'transpose_y': False}
            elif kind == 'aten::einsum':
                items = env.get(ins[1].debugName())
                items = items.v if isinstance(items, Value) else items
                op, attrs = 'einsum', {'equation': str(const(ins[0]))}
                tensor_ins = [x if isinstance(x, str) else b.constant(x.v if isinstance(x, Value) else x) for x in items]
            elif kind in ('aten::split', 'aten::split_with_sizes', 'aten::chunk', 'aten::unsafe_split', 'aten::unsafe_chunk'):
                # A list of tensors, unpacked by the prim::ListUnpack that follows (handled above).
                in_shape = out_type(ins[0])[1]
                axis = const(ins[2])
                axis = axis + len(in_shape) if axis < 0 else axis
                n = in_shape[axis]
                arg = const(ins[1])
                if kind in ('aten::chunk', 'aten::unsafe_chunk'):
                    step = -(-n // arg)
                    sizes = [min(step, n - i) for i in range(0, n, step)]
                elif isinstance(arg, (list, tuple)):
                    sizes = list(arg)
                else:
                    sizes = [min(arg, n - i) for i in range(0, n, arg)]
                op, tensor_ins, attrs = 'split', [inp(ins[0])], {'axis': axis, 'split_sizes': sizes}
                dtype = out_type(ins[0])[0]
                types = [(None, (dtype, [s if k == axis else d for k, d in enumerate(in_shape)])) for s in sizes]
            elif kind == 'aten::softmax':
                op, tensor_ins, attrs = 'softmax', [inp(ins[0])], {'axis': const(ins[1])}
            elif kind in JIT_RESHAPE:
                op, tensor_ins, attrs = 'reshape', [inp(ins[0])], {'shape': types[0][1][1]}
            elif kind == 'aten::permute':
                op, tensor_ins, attrs = 'transpose', [inp(ins[0])], {'perm': list(const(ins[1]))}
            elif kind == 'aten::batch_norm':
                op = 'batch_norm'
                tensor_ins = [inp(ins[0]), inp(ins[3]), inp(ins[4]), inp(ins[1]), inp(ins[2])]
                attrs = {'epsilon': float(const(ins[7]))}
            elif kind in ('aten::mean', 'aten::sum'):
                op, tensor_ins = ('reduce_mean' if kind == 'aten::mean' else 'reduce_sum'), [inp(ins[0])]
                dims = const(ins[1]) if len(ins) > 2 else None  # aten::sum(self, dtype): everything
                rank = len(out_type(ins[0])[1])
                attrs = {'axes': list(dims) if dims else list(range(rank)), 'keep_dims': bool(const(ins[2])) if len(ins) > 2 else False}
            elif kind == 'aten::adaptive_avg_pool2d' and list(const(ins[1])) == [1, 1]:
                op, tensor_ins, attrs = 'reduce_mean', [inp(ins[0])], {'axes': [2, 3], 'keep_dims': True}
            elif kind == 'aten::cat':
                items = env.get(ins[0].debugName())
                pieces = list(ins[0].node().inputs()) if ins[0].node().kind() == 'prim::ListConstruct' else [None] * len(items)
                # Empty pieces add nothing (and torch.cat skips a legacy empty 1-D tensor whatever the other ranks are).
                empty = lambda x, v: (numel(out_type(v)[1]) == 0 if v is not None and out_type(v) else False) if isinstance(x, str) \
                    else isinstance(x.v, torch.Tensor) and x.v.numel() == 0
                kept = [x for x, v in zip(items, pieces) if not empty(x, v)] or list(items)
                rank = len(out_type(outs[0])[1])
                axis = const(ins[1])
                op, tensor_ins, attrs = 'concat', [x if isinstance(x, str) else b.constant(x.v) for x in kept], {'axis': axis + rank if axis < 0 else axis}
                if len(kept) == 1 and isinstance(kept[0], str):
                    env[outs[0].debugName()] = kept[0]
                    continue
            elif kind in ('aten::hardtanh', 'aten::hardtanh_', 'aten::clamp', 'aten::clamp_'):
                lo, hi = const(ins[1]), const(ins[2])
                op, tensor_ins = 'clip', [inp(ins[0])]
                attrs = {'alpha': float(lo) if lo is not None else -3.4e38, 'beta': float(hi) if hi is not None else 3.4e38}
            elif kind == 'aten::gelu':
                approx = const(ins[1]) if len(ins) > 1 else 'none'
                op, tensor_ins, attrs = 'gelu', [inp(ins[0])], {'mode': 'TANH_APPROXIMATION' if approx == 'tanh' else 'EXACT'}
            elif kind == 'aten::layer_norm':
                shape = list(const(ins[1]))
                rank = len(out_type(ins[0])[1])
                op = 'layer_norm'
                tensor_ins = [inp(ins[0])] + [inp(i) for i in ins[2:4] if isinstance(const(i), torch.Tensor)]
                attrs = {'axes': [rank - len(shape) + k for k in range(len(shape))], 'epsilon': float(const(ins[4]))}
            elif kind in ('aten::max_pool2d', 'aten::avg_pool2d'):
                k, st, pd = pair(const(ins[1])), pair(const(ins[2]) or const(ins[1])), pair(const(ins[3]))
                op = 'max_pool' if kind == 'aten::max_pool2d' else 'avg_pool'
                tensor_ins = [inp(ins[0])]
                attrs = {'kernel_sizes': k, 'strides': st, 'pad': [pd[0], pd[0], pd[1], pd[1]],
                         'ceil_mode': bool(const(ins[5] if op == 'max_pool' else ins[4]))}
                if op == 'avg_pool':
                    attrs['exclude_padding_from_average'] = not bool(const(ins[5]))
            elif kind == 'aten::transpose':
                rank = len(out_type(ins[0])[1])
                d0, d1 = [d + rank if d < 0 else d for d in (const(ins[1]), const(ins[2]))]
                perm = list(range(rank))
                perm[d0], perm[d1] = perm[d1], perm[d0]
                op, tensor_ins, attrs = 'transpose', [inp(ins[0])], {'perm': perm}
            elif kind in ('aten::slice', 'aten::select'):
                in_shape = out_type(ins[0])[1]
                rank = len(in_shape)
                axis = const(ins[1])
                axis = axis + rank if axis < 0 else axis
                begin, end, stride = [0] * rank, list(in_shape), [1] * rank
                if kind == 'aten::slice':
                    lo, hi, step = const(ins[2]), const(ins[3]), const(ins[4])
                    lo, hi, step = slice(lo, hi, step).indices(in_shape[axis])
                else:
                    idx = const(ins[2])
                    lo = idx + in_shape[axis] if idx < 0 else idx
                    hi, step = lo + 1, 1
                begin[axis], end[axis], stride[axis] = lo, hi, step
                sliced = list(in_shape)
                sliced[axis] = len(range(lo, hi, step))
                op, tensor_ins, attrs = 'slice_by_index', [inp(ins[0])], {'begin': begin, 'end': end, 'stride': stride}
                if kind == 'aten::select':
                    # slice, then drop the axis with a reshape to the traced output shape
                    tensor_ins = [b.add_op(base + '_slice', op, kind, tensor_ins, [(None, ('fp32', sliced))], attrs, src)[0]]
                    op, attrs = 'reshape', {'shape': types[0][1][1]}
            elif kind in ('aten::lstm', 'aten::gru', 'aten::rnn_tanh', 'aten::rnn_relu'):
                # (input, hx, params, has_biases, num_layers, dropout, train, bidirectional, batch_first)
                op = {'aten::lstm': 'lstm', 'aten::gru': 'gru'}.get(kind, 'rnn')
                weights = const(ins[2]) or []
                tensor_ins = [inp(ins[0])] + [b.constant(w, param_names.get(id(w), 'weight')) for w in weights if isinstance(w, torch.Tensor)]
                attrs = {'hidden_size': int(out_type(outs[1])[1][-1]), 'num_layers': int(const(ins[4])),
                         'bidirectional': bool(const(ins[7])), 'batch_first': bool(const(ins[8]))}
                if kind != 'aten::lstm' and kind != 'aten::gru':
                    attrs['activation'] = 'relu' if kind == 'aten::rnn_relu' else 'tanh'
            else:
                tensor_ins = [env[i.debugName()] for i in ins if isinstance(env.get(i.debugName()), str)]
        except Exception as e:
            b.warnings.append(f'{kind}: could not map to MIL ({one_line(e)}); kept as unknown')
            op, attrs = 'unknown', {}
            tensor_ins = [env[i.debugName()] for i in ins if isinstance(env.get(i.debugName()), str)]
        names = b.add_op(base, op, kind, tensor_ins, types, attrs, src)
        if op == 'split' and len(outs) == 1:
            env[outs[0].debugName()] = list(names)  # the list value; its ListUnpack names each piece
            continue
        for o, nm in zip(outs, names):
            env[o.debugName()] = nm
    outs = []
    for o in graph.outputs():
        r = env.get(o.debugName())
        outs += [x for x in flatten(r if isinstance(r, (list, tuple)) else [r]) if isinstance(x, str)]
    if not outs:
        raise TraceFailure(f'{cls.__name__}.forward returns no tensor that depends on its inputs')
    b.outputs = outs
    return b.to_json(), bytes(b.blob)


if __name__ == '__main__':
    main()
