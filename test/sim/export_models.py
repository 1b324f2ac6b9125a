# Exports the ONNX models the simulator is checked against (test/sim/onnxruntime.test.ts, scripts/bench-sim.mjs).
# Random weights (no download): usage: export_models.py OUT_DIR name [name ...]
import sys

import torch
import torch.nn as nn
import torchvision

torch.manual_seed(0)


class Boom(nn.Module):
    """fc2's output exceeds fp16's 65504 for an input of ones: 100 * 32 * 320 = 1.02e6."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(32, 32)
        self.fc2 = nn.Linear(32, 32)
        self.fc3 = nn.Linear(32, 8)
        with torch.no_grad():
            self.fc1.weight.fill_(10.0)
            self.fc1.bias.zero_()
            self.fc2.weight.fill_(100.0)
            self.fc2.bias.zero_()

    def forward(self, x):
        return self.fc3(torch.relu(self.fc2(torch.relu(self.fc1(x)))))


def calibrated(m, shape):
    """Random-init MobileNetV3 shrinks activations layer by layer until its logits (~1e-9) underflow fp16;
    batch-norm statistics gathered on random inputs restore unit-scale activations, as trained weights have."""
    for mod in m.modules():
        if isinstance(mod, nn.BatchNorm2d):
            mod.reset_running_stats()
            mod.momentum = None  # cumulative average
    m.train()
    with torch.no_grad():
        for _ in range(2):
            m(torch.randn(4, *shape[1:]))
    return m


def model(name):
    if name == 'mobilenet_v3_small':
        shape = (1, 3, 224, 224)
        return calibrated(torchvision.models.mobilenet_v3_small(), shape), shape
    if name == 'resnet18':
        return torchvision.models.resnet18(), (1, 3, 224, 224)
    if name == 'resnet50':
        return torchvision.models.resnet50(), (1, 3, 224, 224)
    if name == 'transformer_layer':
        return nn.TransformerEncoderLayer(d_model=128, nhead=4, dim_feedforward=256, batch_first=True), (1, 32, 128)
    if name == 'overflow':
        return Boom(), (1, 32)
    raise SystemExit(f'unknown model {name}')


out_dir = sys.argv[1]
for name in sys.argv[2:]:
    m, shape = model(name)
    m.eval()
    # Not under no_grad: TransformerEncoderLayer would take its fused fast path, which does not export.
    torch.onnx.export(m, torch.randn(*shape), f'{out_dir}/{name}.onnx', input_names=['input'], output_names=['output'], opset_version=14)
    print(name)
